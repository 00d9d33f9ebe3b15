//! Timestamps as RFC 3339 UTC text, readable in the `sqlite3` shell. Stored values always have
//! exactly three fractional digits (`2026-12-01T01:00:00.000Z`): one spelling per instant (the
//! `UNIQUE(schedule_id, target, due_at)` key relies on that), and text order is time order on
//! both engines, so queries compare the text directly. Finer instants are cut to the
//! millisecond; a lower bound is rounded up instead ([`stored_time_ceil`]), so a bound never
//! takes in a row that lies before it.

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeDelta, Utc};

/// An instant for display: fractional seconds only when present.
pub(crate) fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An instant as it is stored and compared: milliseconds, cut.
pub(super) fn stored_time(t: DateTime<Utc>) -> String {
    t.trunc_subsecs(3)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A lower bound as stored text: the first stored instant at or after `t`.
pub(super) fn stored_time_ceil(t: DateTime<Utc>) -> String {
    let cut = t.trunc_subsecs(3);
    let up = if cut < t {
        cut + TimeDelta::milliseconds(1)
    } else {
        cut
    };
    stored_time(up)
}

pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_have_exactly_three_fractional_digits_and_sort_as_text() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            stored_time(t("2026-12-01T01:00:00Z")),
            "2026-12-01T01:00:00.000Z"
        );
        assert_eq!(
            stored_time(t("2026-12-01T01:00:00.123999999Z")),
            "2026-12-01T01:00:00.123Z"
        );
        assert_eq!(
            stored_time_ceil(t("2026-12-01T01:00:00.000000001Z")),
            "2026-12-01T01:00:00.001Z"
        );
        assert_eq!(
            stored_time_ceil(t("2026-12-01T01:00:00.5Z")),
            "2026-12-01T01:00:00.500Z"
        );
        assert_eq!(
            stored_time_ceil(t("2026-12-01T01:00:59.9999Z")),
            "2026-12-01T01:01:00.000Z"
        );
        // Text order is time order (it was not: "…00Z" sorted after "…00.5Z").
        let mut texts = vec![
            stored_time(t("2026-12-01T01:00:00.5Z")),
            stored_time(t("2026-12-01T01:00:00Z")),
            stored_time(t("2026-12-01T01:00:01Z")),
        ];
        texts.sort();
        assert_eq!(
            texts,
            [
                "2026-12-01T01:00:00.000Z",
                "2026-12-01T01:00:00.500Z",
                "2026-12-01T01:00:01.000Z"
            ]
        );
    }
}
