//! Instant arithmetic that cannot overflow. Config bounds keep every duration small (see
//! `config::fields`), but a value from the database or a future key must never panic a task:
//! every "instant + duration" in the program goes through these functions, which saturate at
//! chrono's limits instead.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// `d` as a signed delta; durations beyond chrono's range become its maximum.
pub(crate) fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// `t + d`, saturating.
pub(crate) fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    shift(t, delta(d))
}

/// `t - d`, saturating.
pub(crate) fn minus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(delta(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `t + offset` for a signed offset, saturating in either direction.
pub(crate) fn shift(t: DateTime<Utc>, offset: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(offset)
        .unwrap_or(if offset < TimeDelta::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let now = Utc::now();
        let huge = Duration::from_secs(300_000_000 * 365 * 86_400);
        assert_eq!(plus(now, huge), DateTime::<Utc>::MAX_UTC);
        assert_eq!(minus(now, huge), DateTime::<Utc>::MIN_UTC);
        assert_eq!(shift(now, -TimeDelta::MAX), DateTime::<Utc>::MIN_UTC);
        assert_eq!(
            plus(now, Duration::from_secs(60)),
            now + TimeDelta::minutes(1)
        );
        assert_eq!(delta(Duration::MAX), TimeDelta::MAX);
    }
}
