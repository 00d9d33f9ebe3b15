//! What a schedule is: its trigger, pools and the content of each occurrence, and what happens
//! to occurrences that come due late (`catch_up`). Pure: every function takes the instant it
//! reasons about as an argument; nothing here reads a clock, a file or the database.
//!
//! The content of an occurrence (text, deadline, cancellation, description) is a [`Content`]:
//! a plain schedule's fixed [`Message`], or one message of a maintenance window (which
//! implements it in `maintenance.rs`). The scheduler asks only that, so it does not know
//! windows exist.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::time_math::{minus, plus};
use crate::domain::trigger::Trigger;
use crate::domain::{DesktopId, PoolId, ScheduleId, Target};

/// How many missed occurrences are counted one by one before the count says "more than".
pub const MISSED_COUNT_LIMIT: u64 = 10_000;

/// Where a schedule was declared; only database schedules can be changed from the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    File,
    Database,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::Database => "database",
        }
    }
}

/// What an occurrence sends and until when.
pub trait Content: fmt::Debug + Send + Sync + 'static {
    /// The text of the occurrence due at `due`, and the instant after which no attempt of it
    /// starts.
    fn occurrence(&self, due: DateTime<Utc>, max_elapsed: Duration) -> (String, DateTime<Utc>);

    /// For a text that counts down: what to render when each request is made (see
    /// [`Countdown`](crate::domain::template::Countdown)). None: the text is final.
    fn countdown(&self, _due: DateTime<Utc>) -> Option<crate::domain::template::Countdown> {
        None
    }

    /// Why the occurrence due at `due` is not sent at all, for a schedule first loaded at
    /// `anchor`; None: it is sent.
    fn skipped(&self, _due: DateTime<Utc>, _anchor: DateTime<Utc>) -> Option<&'static str> {
        None
    }

    /// True for content that can be cancelled after it is claimed (its status is then read
    /// again just before the first attempt).
    fn cancellable(&self) -> bool {
        false
    }

    /// For content that can be cancelled after it is claimed: the instant a cancellation of
    /// the occurrence due at `due` is recorded under. None: it is never cancelled.
    fn cancellation_key(&self, _due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        None
    }

    /// True when the occurrence due at `due` was already cancelled when the schedules loaded.
    fn is_cancelled(&self, _due: DateTime<Utc>) -> bool {
        false
    }

    /// The trigger as people read it (`check`, `schedule list`).
    fn describe(&self, trigger: &Trigger, tz: Tz) -> String {
        trigger.describe(tz)
    }

    /// The text as declared (a template, for content that renders one).
    fn declared_text(&self) -> &str;

    /// What status lines count it as: "schedule" or "maintenance window".
    fn noun(&self) -> &'static str {
        "schedule"
    }

    fn as_any(&self) -> &dyn Any;

    /// Value equality across implementations (a reload keeps unchanged schedules' timers).
    fn same_as(&self, other: &dyn Content) -> bool;
}

/// Shared [`Content`], compared by value.
#[derive(Debug, Clone)]
pub struct SharedContent(pub Arc<dyn Content>);

impl PartialEq for SharedContent {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_as(&*other.0)
    }
}

impl std::ops::Deref for SharedContent {
    type Target = dyn Content;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// A plain schedule's content: the same text every time, until `due + max(max_elapsed,
/// misfire_grace)`, so a late fire within its grace is not born past its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub misfire_grace: Duration,
}

impl Content for Message {
    fn occurrence(&self, due: DateTime<Utc>, max_elapsed: Duration) -> (String, DateTime<Utc>) {
        (
            self.text.clone(),
            plus(due, max_elapsed.max(self.misfire_grace)),
        )
    }

    fn declared_text(&self) -> &str {
        &self.text
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same_as(&self, other: &dyn Content) -> bool {
        other.as_any().downcast_ref::<Message>() == Some(self)
    }
}

/// `resend_failed = { attempts, after }`: up to `attempts` re-sends to the desktops whose
/// sub-job failed, each `after` the job's result (never past the occurrence's deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendFailed {
    pub attempts: u32,
    pub after: Duration,
}

/// A validated schedule. Equal specs fire at the same times with the same content.
/// A schedule shared by the config, the catalog and the scheduler's slot: one copy each.
pub type SharedSpec = std::sync::Arc<ScheduleSpec>;

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    /// Keys the scheduler's slot and stored progress.
    pub id: ScheduleId,
    /// The `schedule_id` its deliveries are recorded under (the window id for window parts).
    pub record_as: ScheduleId,
    pub trigger: Trigger,
    pub timezone: Tz,
    pub pools: Vec<PoolId>,
    /// Individual desktops, sent to in batches (besides or instead of pools).
    pub desktops: Vec<DesktopId>,
    /// Automatic re-sends to the desktops that did not get it (`resend_failed`); off if None.
    pub resend_failed: Option<ResendFailed>,
    pub misfire_grace: Duration,
    pub enabled: bool,
    pub source: Source,
    /// What is sent of occurrences that come due late.
    pub catch_up: CatchUpPolicy,
    pub content: SharedContent,
}

/// What a schedule does with occurrences that come due late (after downtime or a stall) and
/// are still within its misfire grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CatchUpPolicy {
    /// Send the newest; record the older ones as one `missed` row saying they were coalesced
    /// into it. Nobody wants eleven identical reminders at once.
    #[default]
    Latest,
    /// Send every one, oldest first (at most [`CATCH_UP_ALL_LIMIT`] per catch-up), paced by
    /// `max_in_flight`.
    All,
    /// Send nothing late: only an occurrence fired within [`ON_TIME`] of its due time goes out.
    None,
}

impl CatchUpPolicy {
    pub const NAMES: [&'static str; 3] = ["latest", "all", "none"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "latest" => Some(Self::Latest),
            "all" => Some(Self::All),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latest => "latest",
            Self::All => "all",
            Self::None => "none",
        }
    }
}

/// The most occurrences `catch_up = "all"` sends in one catch-up; older ones within grace
/// are recorded as missed. A notification reaches people: a replay must stay bounded.
pub const CATCH_UP_ALL_LIMIT: usize = 100;

/// With `catch_up = "none"`, an occurrence fired later than this after its due time is late.
pub const ON_TIME: Duration = Duration::from_secs(2);

/// What to do about the occurrences from `from` up to `now`, found when the scheduler wakes up
/// (on time, late, or at start after downtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    /// The occurrences to deliver now, oldest first (by the schedule's [`CatchUpPolicy`]).
    pub fire: Vec<DateTime<Utc>>,
    /// The most recent occurrence that is not delivered, and why the others were not.
    pub missed: Option<Missed>,
    /// The next occurrence after `now`.
    pub next: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub due_at: DateTime<Utc>,
    /// Occurrences not delivered, in all.
    pub count: u64,
    /// Of those, how many were past the misfire grace.
    pub past_grace: u64,
    /// True when counting stopped at [`MISSED_COUNT_LIMIT`].
    pub more: bool,
}

/// Applies the misfire rules and the schedule's [`CatchUpPolicy`] to the occurrences in
/// `[first, horizon]` (the horizon is a little ahead of `now` when claiming early): those more
/// than `misfire_grace` older than `now` are never sent; of the rest, the policy picks what
/// goes out. Everything not sent is recorded once, as one missed row with the count.
pub fn catch_up(
    spec: &ScheduleSpec,
    first: DateTime<Utc>,
    horizon: DateTime<Utc>,
    now: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> CatchUp {
    let policy = spec.catch_up;
    let grace = match policy {
        CatchUpPolicy::None => spec.misfire_grace.min(ON_TIME),
        _ => spec.misfire_grace,
    };
    let within = |t: &DateTime<Utc>| now - *t <= crate::domain::time_math::delta(grace);
    let keep = CATCH_UP_ALL_LIMIT + 1;
    let mut recent = std::collections::VecDeque::with_capacity(keep);
    let (mut count, mut past_grace, mut more) = (0u64, 0u64, false);
    let mut t = Some(first);
    while let Some(due) = t.filter(|due| *due <= horizon) {
        if count == MISSED_COUNT_LIMIT {
            more = true;
            break;
        }
        count += 1;
        past_grace += u64::from(!within(&due));
        if recent.len() == keep {
            recent.pop_front();
        }
        recent.push_back(due);
        t = spec.trigger.next_after(spec.timezone, due, anchor);
    }
    if more {
        // Too many to walk: step back from the horizon for the newest ones instead.
        recent = latest_n(spec, keep, horizon, first, anchor);
        past_grace = count - recent.iter().filter(|t| within(t)).count() as u64;
    }
    let next = spec.trigger.next_after(spec.timezone, horizon, anchor);
    if recent.is_empty() {
        return CatchUp {
            fire: Vec::new(),
            missed: None,
            next: t.or(next),
        };
    }
    let in_grace = recent.iter().rev().take_while(|t| within(t)).count();
    let sent = match policy {
        CatchUpPolicy::All => in_grace.min(CATCH_UP_ALL_LIMIT),
        CatchUpPolicy::Latest | CatchUpPolicy::None => in_grace.min(1),
    };
    let fire: Vec<DateTime<Utc>> = recent.iter().skip(recent.len() - sent).copied().collect();
    let missed = (count > sent as u64).then(|| Missed {
        due_at: recent[recent.len() - sent - 1],
        count: count - sent as u64,
        past_grace,
        more,
    });
    CatchUp { fire, missed, next }
}

/// The newest `n` occurrences at or before `horizon` and not before `first`, oldest first.
fn latest_n(
    spec: &ScheduleSpec,
    n: usize,
    horizon: DateTime<Utc>,
    first: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> std::collections::VecDeque<DateTime<Utc>> {
    let mut out = std::collections::VecDeque::with_capacity(n);
    let mut cursor = spec
        .trigger
        .previous_at_or_before(spec.timezone, horizon, anchor);
    while let Some(t) = cursor.filter(|t| *t >= first && out.len() < n) {
        out.push_front(t);
        cursor = spec.trigger.previous_at_or_before(
            spec.timezone,
            t - TimeDelta::milliseconds(1),
            anchor,
        );
    }
    out
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;

impl ScheduleSpec {
    /// The first occurrence to consider when the scheduler (re)starts: right after the last
    /// one handled; for a schedule never fired, after its first load (`anchor`), so a new
    /// schedule has no missed past. A one-shot added a little late still goes out within its
    /// grace.
    pub fn first_to_consider(
        &self,
        last_due: Option<DateTime<Utc>>,
        anchor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match (last_due, &self.trigger) {
            (Some(last), _) => self.trigger.next_after(self.timezone, last, anchor),
            (None, Trigger::At(at)) => (*at > minus(anchor, self.misfire_grace)).then_some(*at),
            (None, _) => self.trigger.next_after(self.timezone, anchor, anchor),
        }
    }

    /// What fires next, and when: the next `n` fire times as the daemon sees them at `now`,
    /// given the last occurrence it handled (`last_due`) and the anchor of an `every` without
    /// `start`. Overdue occurrences the daemon still sends (within `misfire_grace`, by
    /// `catch_up`) come first, since they go out at once; the rest follow `now`. The daemon,
    /// `check`, `schedule list` and `schedule show` all answer with this.
    pub fn next_fires(
        &self,
        last_due: Option<DateTime<Utc>>,
        anchor: DateTime<Utc>,
        now: DateTime<Utc>,
        n: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n.min(64));
        let mut t = self.first_to_consider(last_due, anchor);
        if let Some(first) = t.filter(|first| *first <= now) {
            let plan = catch_up(self, first, now, now, anchor);
            out.extend(plan.fire.into_iter().take(n));
            t = plan.next;
        }
        while out.len() < n {
            let Some(at) = t else { break };
            out.push(at);
            t = self.trigger.next_after(self.timezone, at, anchor);
        }
        out
    }

    /// The first of `from` and the fire times after it that is not already cancelled (a
    /// maintenance window's cancelled occurrence is skipped when due): what `status` and the
    /// next-fire gauge announce. At most 1,000 cancelled occurrences are looked past.
    pub fn first_uncancelled(
        &self,
        from: Option<DateTime<Utc>>,
        anchor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut t = from;
        for _ in 0..1000 {
            let at = t?;
            if !self.content.is_cancelled(at) {
                return Some(at);
            }
            t = self.trigger.next_after(self.timezone, at, anchor);
        }
        None
    }

    /// Where each occurrence goes: every pool, then the desktops in batches of at most
    /// `desktop_batch` ids (`[jobs] desktop_batch`).
    pub fn targets(&self, desktop_batch: usize) -> Vec<Target> {
        let mut targets: Vec<Target> = self.pools.iter().cloned().map(Target::Pool).collect();
        targets.extend(Target::desktop_batches(
            "desktops:",
            &self.desktops,
            desktop_batch,
        ));
        targets
    }

    /// A one-line description of the trigger for `check` and `schedule list`.
    pub fn describe_trigger(&self) -> String {
        self.content.describe(&self.trigger, self.timezone)
    }

    /// The text as declared.
    pub fn message(&self) -> &str {
        self.content.declared_text()
    }
}
