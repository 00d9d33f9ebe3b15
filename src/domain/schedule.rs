//! What a schedule is: its trigger, pools and the content of each occurrence (what happens
//! to occurrences that come due late is `catch_up.rs`). Pure: every function takes the instant it
//! reasons about as an argument; nothing here reads a clock, a file or the database.
//!
//! The content of an occurrence (text, deadline, cancellation, description) is a [`Content`]:
//! a plain schedule's fixed [`Message`], or one message of a maintenance window (which
//! implements it in `maintenance.rs`). The scheduler asks only that, so it does not know
//! windows exist.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::time_math::{minus, plus};
use crate::domain::trigger::Trigger;
use crate::domain::{DesktopId, PoolId, ScheduleId, Target, WorkspaceName};

pub(crate) use super::catch_up::{CATCH_UP_ALL_LIMIT, CatchUpPolicy, Missed, ON_TIME, catch_up};

/// How many missed occurrences are counted one by one before the count says "more than".
pub(crate) const MISSED_COUNT_LIMIT: u64 = 10_000;

/// Where a schedule was declared; only database schedules can be changed from the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    File,
    Database,
    /// Followed from Workspace's own scheduled tasks (`[[task_warnings]]`).
    Workspace,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::Database => "database",
            Source::Workspace => "workspace",
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

    /// The Workspace scheduled task the message warns of, recorded on its deliveries.
    fn workspace_task(&self) -> Option<&str> {
        None
    }

    /// What the `target` keys of its desktop batches start with: `desktops:` (so the unique
    /// key is per schedule); a task warning adds its task, as the warnings of all the tasks a
    /// rule covers share the rule's id.
    fn batch_prefix(&self) -> String {
        "desktops:".to_owned()
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
pub(crate) struct Message {
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
pub(crate) type SharedSpec = std::sync::Arc<ScheduleSpec>;

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    /// Keys the scheduler's slot and stored progress.
    pub id: ScheduleId,
    /// The `schedule_id` its deliveries are recorded under (the window id for window parts).
    pub record_as: ScheduleId,
    /// The workspace (region, project, account) its deliveries go to.
    pub workspace: WorkspaceName,
    pub trigger: Trigger,
    pub timezone: Tz,
    pub pools: Vec<PoolId>,
    /// Individual desktops, sent to in batches (besides or instead of pools).
    pub desktops: Vec<DesktopId>,
    /// Desktops chosen by tags, users, enterprise project or all, resolved before each
    /// occurrence; and who of them gets it (`audience`).
    pub audience: super::audience::AudienceSpec,
    /// Automatic re-sends to the desktops that did not get it (`resend_failed`); off if None.
    pub resend_failed: Option<ResendFailed>,
    pub misfire_grace: Duration,
    pub enabled: bool,
    pub source: Source,
    /// What is sent of occurrences that come due late.
    pub catch_up: CatchUpPolicy,
    pub content: SharedContent,
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

    /// True when its targets are known only after a ListDesktops (selectors, or
    /// `audience = "connected"`).
    pub fn needs_listing(&self) -> bool {
        self.audience
            .needs_listing(!self.pools.is_empty() || !self.desktops.is_empty())
    }

    /// The ListDesktops queries its audience needs (none for static targets alone).
    pub fn desktop_queries(&self) -> Vec<super::audience::DesktopQuery> {
        let (pools, desktops) = self.static_ids();
        self.audience.queries(&pools, &desktops)
    }

    /// Who of `listed` (the answers to [`Self::desktop_queries`]) gets its message.
    pub fn resolve_audience<'a>(
        &self,
        listed: impl IntoIterator<Item = &'a super::audience::Desktop>,
    ) -> super::audience::Resolution<'a> {
        let (pools, desktops) = self.static_ids();
        super::audience::resolve(&self.audience, &pools, &desktops, listed)
    }

    /// Its static pool and desktop ids as text, as listings compare them.
    fn static_ids(&self) -> (Vec<String>, Vec<String>) {
        (
            self.pools.iter().map(|p| p.to_string()).collect(),
            self.desktops.iter().map(|d| d.to_string()).collect(),
        )
    }

    /// Where each occurrence goes: every pool, then the desktops in batches of at most
    /// `desktop_batch` ids (`[jobs] desktop_batch`).
    pub fn targets(&self, desktop_batch: usize) -> Vec<Target> {
        let mut targets: Vec<Target> = self.pools.iter().cloned().map(Target::Pool).collect();
        targets.extend(Target::desktop_batches(
            &self.content.batch_prefix(),
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
