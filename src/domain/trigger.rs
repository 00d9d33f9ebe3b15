//! When something fires: a cron expression in a zone, a one-shot instant, a fixed interval, or
//! another trigger shifted by an offset or with some of its times moved. Pure: every function takes the instant it reasons about
//! as an argument; nothing here reads a clock, a file or the database.
//!
//! Cron expressions are evaluated in the schedule's IANA zone with croner's rules, which give
//! the product's daylight-saving rules (docs/design.md): a local time inside a spring-forward
//! gap fires at the first instant after the gap, and a local time that occurs twice fires once,
//! at its first occurrence. `cron.rs` keeps them compact.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) use crate::domain::cron::CronExpr;

use crate::domain::time_math::shift;

/// When a schedule fires.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// A cron expression (6 fields with seconds, or 5) in the schedule's zone.
    Cron(CronExpr),
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
    /// Another trigger with some of its times moved (`maintenance postpone`): each key is
    /// replaced by its value.
    Moved {
        base: Box<Trigger>,
        moves: BTreeMap<DateTime<Utc>, DateTime<Utc>>,
    },
}

/// Equal when they fire at the same times: a cron trigger is its expression.
impl PartialEq for Trigger {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Trigger::Cron(a), Trigger::Cron(b)) => a == b,
            (Trigger::At(a), Trigger::At(b)) => a == b,
            (
                Trigger::Every {
                    period: p1,
                    start: s1,
                },
                Trigger::Every {
                    period: p2,
                    start: s2,
                },
            ) => p1 == p2 && s1 == s2,
            (
                Trigger::Shifted {
                    base: b1,
                    offset: o1,
                },
                Trigger::Shifted {
                    base: b2,
                    offset: o2,
                },
            ) => b1 == b2 && o1 == o2,
            (
                Trigger::Moved {
                    base: b1,
                    moves: m1,
                },
                Trigger::Moved {
                    base: b2,
                    moves: m2,
                },
            ) => b1 == b2 && m1 == m2,
            _ => false,
        }
    }
}

impl Trigger {
    /// A cron trigger from an expression as the config and CLI accept it; the error says the
    /// expression is invalid and why.
    pub fn cron(expr: &str) -> Result<Trigger, String> {
        CronExpr::parse(expr)
            .map(Trigger::Cron)
            .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))
    }

    /// The first fire time strictly after `after`. `anchor` is the persisted start of an
    /// `every` schedule that names no `start`.
    pub fn next_after(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
        anchor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Trigger::Cron(cron) => cron.next_after(tz, after),
            Trigger::At(at) => (*at > after).then_some(*at),
            Trigger::Shifted { base, offset } => base
                .next_after(tz, shift(after, -*offset), anchor)
                .map(|t| shift(t, *offset)),
            Trigger::Moved { base, moves } => {
                // The base's next time that was not moved away (each moved one is skipped
                // once, so this ends), or a moved time, whichever comes first.
                let mut cursor = after;
                let kept = loop {
                    match base.next_after(tz, cursor, anchor) {
                        Some(t) if moves.contains_key(&t) => cursor = t,
                        other => break other,
                    }
                };
                let moved = moves.values().copied().filter(|t| *t > after).min();
                kept.into_iter().chain(moved).min()
            }
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

    /// The latest fire time at or before `t`.
    pub fn previous_at_or_before(
        &self,
        tz: Tz,
        t: DateTime<Utc>,
        anchor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        previous_of(self, tz, t, anchor)
    }

    /// A one-line description for `check` and `schedule list`.
    pub fn describe(&self, tz: Tz) -> String {
        match self {
            Trigger::Cron(expr) => format!("cron {:?}", expr.as_str()),
            Trigger::At(at) => format!("at {}", at.with_timezone(&tz).to_rfc3339()),
            Trigger::Every { period, start } => match start {
                Some(start) => format!(
                    "every {} from {}",
                    humantime::format_duration(*period),
                    start.with_timezone(&tz).to_rfc3339()
                ),
                None => format!("every {}", humantime::format_duration(*period)),
            },
            Trigger::Shifted { base, offset } => {
                format!("{} shifted by {}s", base.describe(tz), offset.num_seconds())
            }
            Trigger::Moved { base, moves } => {
                format!(
                    "{}, postponed: {}",
                    base.describe(tz),
                    moved_list(moves, tz)
                )
            }
        }
    }
}

/// Postponed starts as `from → to, ...` in `tz`.
pub(crate) fn moved_list(moves: &BTreeMap<DateTime<Utc>, DateTime<Utc>>, tz: Tz) -> String {
    let moved: Vec<String> = moves
        .iter()
        .map(|(from, to)| {
            format!(
                "{} → {}",
                from.with_timezone(&tz).to_rfc3339(),
                to.with_timezone(&tz).to_rfc3339()
            )
        })
        .collect();
    moved.join(", ")
}

fn previous_of(
    trigger: &Trigger,
    tz: Tz,
    t: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match trigger {
        Trigger::Cron(cron) => cron.previous_at_or_before(tz, t),
        Trigger::At(at) => (*at <= t).then_some(*at),
        Trigger::Shifted { base, offset } => {
            previous_of(base, tz, shift(t, -*offset), anchor).map(|p| shift(p, *offset))
        }
        Trigger::Moved { base, moves } => {
            let mut cursor = t;
            let kept = loop {
                match previous_of(base, tz, cursor, anchor) {
                    Some(p) if moves.contains_key(&p) => {
                        cursor = p.checked_sub_signed(TimeDelta::milliseconds(1))?
                    }
                    other => break other,
                }
            };
            let moved = moves.values().copied().filter(|m| *m <= t).max();
            kept.into_iter().chain(moved).max()
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
