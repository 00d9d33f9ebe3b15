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
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Keeps the value if `result` is Ok; records the error under `key` otherwise.
    pub fn take<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.push(key, message)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A human duration such as `"90s"`, `"15m"`, `"2h"`, `"1h 30m"`.
pub fn duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim()).map_err(|err| {
        format!("invalid duration {value:?} ({err}); write e.g. \"90s\", \"15m\", \"2h\"")
    })
}

/// A duration that must be above zero.
pub fn positive_duration(value: &str) -> Result<Duration, String> {
    match duration(value)? {
        d if d.is_zero() => Err(format!("must be more than zero, got {value:?}")),
        d => Ok(d),
    }
}

/// An IANA zone name.
pub fn timezone(value: &str) -> Result<Tz, String> {
    value
        .parse::<Tz>()
        .map_err(|_| format!("unknown time zone {value:?}"))
}

/// RFC 3339 with an explicit offset, e.g. `2026-12-01T09:00:00+08:00`.
pub fn instant(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|err| {
            format!("invalid time {value:?} ({err}); write RFC 3339 with an offset, e.g. \"2026-12-01T09:00:00+08:00\"")
        })
}

/// An integer within `range`.
pub fn bounded(value: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, String> {
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
