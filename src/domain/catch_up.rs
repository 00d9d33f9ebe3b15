//! What happens to occurrences that come due late (after downtime or a stall): the misfire
//! grace and a schedule's [`CatchUpPolicy`] decide which are sent and which are recorded as
//! one missed row. Pure, like the rest of `domain/`.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

use super::schedule::{MISSED_COUNT_LIMIT, ScheduleSpec};

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
pub(crate) const CATCH_UP_ALL_LIMIT: usize = 100;

/// With `catch_up = "none"`, an occurrence fired later than this after its due time is late.
pub(crate) const ON_TIME: Duration = Duration::from_secs(2);

/// What to do about the occurrences from `from` up to `now`, found when the scheduler wakes up
/// (on time, late, or at start after downtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatchUp {
    /// The occurrences to deliver now, oldest first (by the schedule's [`CatchUpPolicy`]).
    pub fire: Vec<DateTime<Utc>>,
    /// The most recent occurrence that is not delivered, and why the others were not.
    pub missed: Option<Missed>,
    /// The next occurrence after `now`.
    pub next: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Missed {
    pub due_at: DateTime<Utc>,
    /// Occurrences not delivered, in all.
    pub count: u64,
    /// Of those, how many were past the misfire grace.
    pub past_grace: u64,
    /// True when counting stopped at [`MISSED_COUNT_LIMIT`].
    pub more: bool,
}

impl Missed {
    /// Whether users got a newer message instead: `catch_up = "latest"` sent a newer
    /// occurrence (`newer_sent`) and every one not sent was within the misfire grace. Then the
    /// row is `coalesced`, not `missed` (which alerts: nobody got those).
    pub(crate) fn coalesced(&self, policy: CatchUpPolicy, newer_sent: bool) -> bool {
        policy == CatchUpPolicy::Latest && newer_sent && self.past_grace == 0
    }
}

/// Applies the misfire rules and the schedule's [`CatchUpPolicy`] to the occurrences in
/// `[first, horizon]` (the horizon is a little ahead of `now` when claiming early): those more
/// than `misfire_grace` older than `now` are never sent; of the rest, the policy picks what
/// goes out. Everything not sent is recorded once, as one missed row with the count.
pub(crate) fn catch_up(
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
