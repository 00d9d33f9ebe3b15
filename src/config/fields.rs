//! Field-level parsing with errors that name the key path and the bad value, e.g.
//! `schedules[2].timezone: unknown time zone "Asia/Shangai"`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::time::Duration;

/// One rule that failed: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Collects every failing rule, so one run of `check` lists them all.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub(crate) fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Keeps the value if `result` is Ok; records the error under `key` otherwise.
    pub(crate) fn take<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.push(key, message)).ok()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Failures so far (a validator compares before and after to know if its part passed).
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    pub(crate) fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

/// A human duration such as `"90s"`, `"15m"`, `"2h"`, `"1h 30m"`.
pub(super) fn duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|err| {
        format!("invalid duration {value:?} ({err}); write e.g. \"90s\", \"15m\", \"2h\"")
    })
}

/// The documented range of one duration key. Every duration the program adds to an instant is
/// bounded here, so no schedule can reach chrono's limits (the arithmetic saturates anyway).
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub min: Duration,
    pub max: Duration,
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
const DAY: u64 = 86_400;

/// `daemon.shutdown_grace`: 0 (abandon at once) to 1 hour.
pub(super) const SHUTDOWN_GRACE: Bounds = Bounds {
    min: secs(0),
    max: secs(3600),
};
/// `daemon.database_timeout`: 100 ms to 10 minutes.
pub(super) const DATABASE_TIMEOUT: Bounds = Bounds {
    min: Duration::from_millis(100),
    max: secs(600),
};
/// `daemon.instance_lease`: 3 seconds (a heartbeat a second) to 10 minutes.
pub(super) const INSTANCE_LEASE: Bounds = Bounds {
    min: secs(3),
    max: secs(600),
};
/// `workspace.request_timeout`: 100 ms to 10 minutes.
pub(super) const THROTTLE_PAUSE: Bounds = Bounds {
    min: Duration::ZERO,
    max: secs(60),
};

pub(super) const REQUEST_TIMEOUT: Bounds = Bounds {
    min: Duration::from_millis(100),
    max: secs(600),
};
/// `retry.initial_delay` and `retry.max_delay`: 10 ms to 1 hour.
pub(super) const RETRY_DELAY: Bounds = Bounds {
    min: Duration::from_millis(10),
    max: secs(3600),
};
/// `retry.max_elapsed`: 1 second to 7 days.
pub(super) const MAX_ELAPSED: Bounds = Bounds {
    min: secs(1),
    max: secs(7 * DAY),
};
/// `misfire_grace` of schedules and windows: 0 (never late) to 31 days.
pub(super) const MISFIRE_GRACE: Bounds = Bounds {
    min: secs(0),
    max: secs(31 * DAY),
};
/// `every`: 1 second (faster would flood the API) to 366 days.
pub(super) const EVERY: Bounds = Bounds {
    min: secs(1),
    max: secs(366 * DAY),
};
/// `jobs.first_poll` and `jobs.poll_interval`: 1 second to 10 minutes.
pub(super) const JOB_POLL: Bounds = Bounds {
    min: secs(1),
    max: secs(600),
};
/// `jobs.give_up_after`: 10 seconds to 1 day.
pub(super) const JOB_GIVE_UP: Bounds = Bounds {
    min: secs(10),
    max: secs(DAY),
};
/// `resend_failed.after`: 10 seconds to 1 hour.
pub(super) const RESOLVE_AHEAD: Bounds = Bounds {
    min: secs(0),
    max: secs(3600),
};

pub(super) const RESOLUTION_MAX_AGE: Bounds = Bounds {
    min: secs(10),
    max: secs(DAY),
};

pub(super) const RESEND_AFTER: Bounds = Bounds {
    min: secs(10),
    max: secs(3600),
};
/// A window's `duration` and each `notify_before` lead: 1 second to 31 days.
pub(super) const WINDOW_SPAN: Bounds = Bounds {
    min: secs(1),
    max: secs(31 * DAY),
};

/// A duration within `bounds`; the message names both ends and the value.
pub(super) fn bounded_duration(value: &str, bounds: Bounds) -> Result<Duration, String> {
    let d = duration(value)?;
    if d < bounds.min || d > bounds.max {
        let show = |d: Duration| match d.as_secs() {
            0 if d.is_zero() => "0s".to_owned(),
            s if s >= DAY && s % DAY == 0 => format!("{}d", s / DAY),
            _ => humantime::format_duration(d).to_string(),
        };
        return Err(format!(
            "must be between {} and {}, got {value:?}",
            show(bounds.min),
            show(bounds.max)
        ));
    }
    Ok(d)
}

/// An IANA zone name.
pub(super) fn timezone(value: &str) -> Result<Tz, String> {
    value
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone {value:?}"))
}

/// RFC 3339 with an explicit offset, e.g. `2026-12-01T09:00:00+08:00`, between the years
/// 1970 and 9000 (later instants could not be stored with a deadline after them). Cut to the
/// millisecond, as every stored time is: a window start written with nanoseconds must match
/// its cancellation, which is stored in milliseconds.
pub(crate) fn instant(value: &str) -> Result<DateTime<Utc>, String> {
    use chrono::SubsecRound;
    let t = DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(3))
        .map_err(|err| {
            format!("invalid time {value:?} ({err}); write RFC 3339 with an offset, e.g. \"2026-12-01T09:00:00+08:00\"")
        })?;
    match chrono::Datelike::year(&t) {
        1970..=9000 => Ok(t),
        _ => Err(format!("{value:?} is outside the years 1970 to 9000")),
    }
}

/// An integer within `range`.
pub(super) fn bounded(value: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "must be between {} and {}, got {value}",
            range.start(),
            range.end()
        ))
    }
}
