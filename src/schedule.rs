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

use crate::domain::{PoolId, ScheduleId};
use crate::time_math::{minus, plus, shift};
use crate::window::WindowPart;

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

/// What to do about the occurrences from `from` up to `now`, found when the scheduler wakes up
/// (on time, late, or at start after downtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    /// The one occurrence to deliver now (the latest, if it is within the misfire grace).
    pub fire: Option<DateTime<Utc>>,
    /// The most recent occurrence that is not delivered, and how many were skipped in all.
    pub missed: Option<Missed>,
    /// The next occurrence after `now`.
    pub next: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub due_at: DateTime<Utc>,
    pub count: u64,
    /// True when counting stopped at [`MISSED_COUNT_LIMIT`].
    pub more: bool,
}

/// Applies DESIGN.md "Misfires" to the occurrences in `[first, horizon]` (the horizon is a
/// little ahead of `now` when claiming early): the latest goes out if it is at most `grace`
/// older than `now`; the rest are recorded once as missed, never replayed in a burst.
pub fn catch_up(
    spec: &ScheduleSpec,
    first: DateTime<Utc>,
    horizon: DateTime<Utc>,
    now: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> CatchUp {
    let mut latest = None;
    let mut before_latest = None;
    let mut count = 0u64;
    let mut more = false;
    let mut t = Some(first);
    while let Some(due) = t.filter(|due| *due <= horizon) {
        if count == MISSED_COUNT_LIMIT {
            more = true;
            break;
        }
        count += 1;
        before_latest = latest.replace(due);
        t = spec.trigger.next_after(spec.timezone, due, anchor);
    }
    if more {
        // Too many to walk: step back from `now` instead. Only the two latest matter.
        (latest, before_latest) = latest_two(spec, count, horizon, anchor);
    }
    let next = spec.trigger.next_after(spec.timezone, horizon, anchor);
    let Some(latest) = latest else {
        return CatchUp {
            fire: None,
            missed: None,
            next: t.or(next),
        };
    };
    let grace = crate::time_math::delta(spec.misfire_grace);
    if now - latest <= grace {
        let missed = before_latest.map(|due_at| Missed {
            due_at,
            count: count - 1,
            more,
        });
        CatchUp {
            fire: Some(latest),
            missed,
            next,
        }
    } else {
        CatchUp {
            fire: None,
            missed: Some(Missed {
                due_at: latest,
                count,
                more,
            }),
            next,
        }
    }
}

fn latest_two(
    spec: &ScheduleSpec,
    counted: u64,
    now: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let prev = |t: DateTime<Utc>| previous_at_or_before(spec, t, anchor);
    let latest = prev(now);
    let before = latest.and_then(|l| prev(l - TimeDelta::milliseconds(1)));
    debug_assert!(counted > 0);
    (latest, before)
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
            "{trigger}|{}|{:?}|{}|{:?}|{}",
            self.timezone, self.pools, self.message, self.misfire_grace, self.enabled
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
            (None, Trigger::At(at)) => {
                (*at > minus(anchor, self.misfire_grace)).then_some(*at)
            }
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
