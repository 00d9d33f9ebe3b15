//! Timestamps as RFC 3339 UTC text (`2026-12-01T01:00:00Z`), readable in the `sqlite3` shell.
//! Fractional seconds appear only when present, so one instant always has one spelling: the
//! `UNIQUE(schedule_id, target, due_at)` key relies on that.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}
