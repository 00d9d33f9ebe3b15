//! What a schedule is and when it fires. Pure: every function takes the instant it reasons
//! about as an argument; nothing here reads a clock, a file or the database.
//!
//! Cron expressions are evaluated by `croner` in the schedule's IANA zone, which gives the
//! DESIGN.md rules for daylight-saving changes: a local time inside a spring-forward gap fires at
//! the first instant after the gap, and a local time that occurs twice fires once, at its first
//! occurrence.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::domain::maintenance::WindowPart;
use crate::domain::time_math::{minus, plus, shift};
use crate::domain::{PoolId, ScheduleId};

/// How many missed occurrences are counted one by one before the count says "more than".
pub const MISSED_COUNT_LIMIT: u64 = 10_000;

/// When a schedule fires.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// A cron expression (6 fields with seconds, or 5) in the schedule's zone.
    Cron { expr: String, cron: Arc<Cron> },
    /// Once, at this instant.
    At(DateTime<Utc>),
    /// Every `period`, anchored at `start` or, without one, at the first load (kept in the
    /// database so that a restart does not move it).
    Every {
        period: Duration,
        start: Option<DateTime<Utc>>,
    },
    /// Another trigger's times moved by `offset` (a maintenance warning: the window start
    /// minus the lead).
    Shifted {
        base: Box<Trigger>,
        offset: TimeDelta,
    },
}

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

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    /// Keys the scheduler's slot and stored progress.
    pub id: ScheduleId,
    /// The `schedule_id` its deliveries are recorded under (the window id for window parts).
    pub record_as: ScheduleId,
    pub trigger: Trigger,
    pub timezone: Tz,
    pub pools: Vec<PoolId>,
    pub message: String,
    pub misfire_grace: Duration,
    pub enabled: bool,
    pub source: Source,
    /// Set when this schedule carries one message of a maintenance window.
    pub window: Option<WindowPart>,
    /// What is sent of occurrences that come due late.
    pub catch_up: CatchUpPolicy,
}

/// Parses a cron expression with optional seconds, the way the config and CLI accept it.
///
/// A parsed `croner::Cron` holds a 5,000-byte year bitmap, so 10,000 schedules would cost
/// 50 MB; equal expressions share one parsed value instead (weakly cached, freed when unused).
pub fn parse_cron(expr: &str) -> Result<Arc<Cron>, String> {
    static CACHE: Mutex<BTreeMap<String, Weak<Cron>>> = Mutex::new(BTreeMap::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(cron) = cache.get(expr).and_then(Weak::upgrade) {
        return Ok(cron);
    }
    let cron = Arc::new(
        CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expr)
            .map_err(|err| err.to_string())?,
    );
    // "0 0 30 2 *" parses but matches no date: refuse it rather than never fire. Any date
    // pattern that exists recurs within 28 years of 2000 (leap days included).
    let reference = DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z")
        .expect("valid")
        .to_utc();
    if cron.find_next_occurrence(&reference, false).is_err() {
        return Err("it never fires: no date matches it".to_owned());
    }
    if cache.len() >= 64 && cache.len().is_power_of_two() {
        cache.retain(|_, weak| weak.strong_count() > 0);
    }
    cache.insert(expr.to_owned(), Arc::downgrade(&cron));
    Ok(cron)
}

impl Trigger {
    /// The first fire time strictly after `after`. `anchor` is the persisted start of an
    /// `every` schedule that names no `start`.
    pub fn next_after(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
        anchor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Trigger::Cron { cron, .. } => cron
                .find_next_occurrence(&after.with_timezone(&tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            Trigger::At(at) => (*at > after).then_some(*at),
            Trigger::Shifted { base, offset } => base
                .next_after(tz, shift(after, -*offset), anchor)
                .map(|t| shift(t, *offset)),
            Trigger::Every { period, start } => {
                let anchor = start.unwrap_or(anchor);
                if after < anchor {
                    return Some(anchor);
                }
                let period = TimeDelta::from_std(*period).ok()?;
                let elapsed = (after - anchor).num_milliseconds();
                let steps = elapsed / period.num_milliseconds().max(1) + 1;
                anchor.checked_add_signed(period.checked_mul(i32::try_from(steps).ok()?)?)
            }
        }
    }
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
    let mut cursor = previous_at_or_before(spec, horizon, anchor);
    while let Some(t) = cursor.filter(|t| *t >= first && out.len() < n) {
        out.push_front(t);
        cursor = previous_at_or_before(spec, t - TimeDelta::milliseconds(1), anchor);
    }
    out
}

fn previous_at_or_before(
    spec: &ScheduleSpec,
    t: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    previous_of(&spec.trigger, spec.timezone, t, anchor)
}

fn previous_of(
    trigger: &Trigger,
    tz: Tz,
    t: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match trigger {
        Trigger::Cron { cron, .. } => cron
            .find_previous_occurrence(&t.with_timezone(&tz), true)
            .ok()
            .map(|p| p.with_timezone(&Utc)),
        Trigger::At(at) => (*at <= t).then_some(*at),
        Trigger::Shifted { base, offset } => {
            previous_of(base, tz, shift(t, -*offset), anchor).map(|p| shift(p, *offset))
        }
        Trigger::Every { period, start } => {
            let anchor = start.unwrap_or(anchor);
            let period = TimeDelta::from_std(*period).ok()?;
            if t < anchor {
                return None;
            }
            let steps = (t - anchor).num_milliseconds() / period.num_milliseconds().max(1);
            anchor.checked_add_signed(period.checked_mul(i32::try_from(steps).ok()?)?)
        }
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;

impl ScheduleSpec {
    /// Everything that decides when and what the schedule sends; equal fingerprints mean a
    /// reload leaves the schedule's next fire time alone.
    pub fn fingerprint(&self) -> String {
        if let Some(part) = &self.window {
            return format!("window {:?} {}", part.kind, part.window.fingerprint());
        }
        let trigger = match &self.trigger {
            Trigger::Cron { expr, .. } => format!("cron {expr}"),
            Trigger::At(at) => format!("at {at:?}"),
            Trigger::Every { period, start } => format!("every {period:?} {start:?}"),
            Trigger::Shifted { .. } => format!("{:?}", self.trigger),
        };
        format!(
            "{trigger}|{}|{:?}|{}|{:?}|{}|{:?}",
            self.timezone,
            self.pools,
            self.message,
            self.misfire_grace,
            self.enabled,
            self.catch_up
        )
    }

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

    /// The text and deadline of the occurrence due at `due`: the plain message and
    /// `due + max(max_elapsed, misfire_grace)`, or a window's rendered countdown and its
    /// next-warning deadline.
    pub fn occurrence(&self, due: DateTime<Utc>, max_elapsed: Duration) -> (String, DateTime<Utc>) {
        match &self.window {
            Some(part) => {
                let start = shift(due, -part.window.offset(part.kind));
                (
                    part.window.render(part.kind, start),
                    part.window.deadline(part.kind, start, max_elapsed),
                )
            }
            None => {
                let window = max_elapsed.max(self.misfire_grace);
                (self.message.clone(), plus(due, window))
            }
        }
    }

    /// For a window part: the start of the window whose message is due at `due`.
    pub fn window_start(&self, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.window
            .as_ref()
            .map(|part| shift(due, -part.window.offset(part.kind)))
    }

    /// True when the occurrence due at `due` belongs to a cancelled window.
    pub fn is_cancelled(&self, due: DateTime<Utc>) -> bool {
        self.window.as_ref().is_some_and(|part| {
            part.window
                .is_cancelled(shift(due, -part.window.offset(part.kind)))
        })
    }

    /// A one-line description of the trigger for `check` and `schedule list`.
    pub fn describe_trigger(&self) -> String {
        if let Some(part) = &self.window {
            return format!(
                "{} of window {} ({})",
                part.kind.label(&part.window),
                part.window.id,
                part.window.starts_description()
            );
        }
        match &self.trigger {
            Trigger::Shifted { .. } => format!("{:?}", self.trigger),
            Trigger::Cron { expr, .. } => format!("cron {expr:?}"),
            Trigger::At(at) => format!("at {}", at.with_timezone(&self.timezone).to_rfc3339()),
            Trigger::Every { period, start } => match start {
                Some(start) => format!(
                    "every {} from {}",
                    humantime::format_duration(*period),
                    start.with_timezone(&self.timezone).to_rfc3339()
                ),
                None => format!("every {}", humantime::format_duration(*period)),
            },
        }
    }
}
