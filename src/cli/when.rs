//! Points in time on the command line, as `journalctl --since/--until` takes them: `now`,
//! `today`, `yesterday`, `tomorrow` (local midnight), `HH:MM[:SS]` (today, local), `-2h`,
//! `2h` or `2h ago` (back from now), `+2h` (ahead), `YYYY-MM-DD` (local midnight),
//! `YYYY-MM-DD HH:MM[:SS]` (local) and RFC 3339. "Local" is this machine's zone (`TZ`).

use chrono::{
    DateTime, Duration as Delta, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};

use crate::domain::time_math::{minus, plus};

/// `text` as an instant, relative words against `now` in `zone`.
pub(super) fn parse_when<Z: TimeZone>(
    text: &str,
    now: DateTime<Utc>,
    zone: &Z,
) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let today = now.with_timezone(zone).date_naive();
    let midnight = |days: i64| {
        local(
            zone,
            (today + Delta::days(days)).and_time(NaiveTime::MIN),
            t,
        )
    };
    match t {
        "now" => return Ok(now),
        "today" => return midnight(0),
        "yesterday" => return midnight(-1),
        "tomorrow" => return midnight(1),
        _ => {}
    }
    if let Some(ahead) = t.strip_prefix('+')
        && let Ok(d) = humantime::parse_duration(ahead.trim())
    {
        return Ok(plus(now, d));
    }
    let back = t.strip_prefix('-').unwrap_or(t);
    let back = back.strip_suffix("ago").unwrap_or(back).trim();
    if let Ok(d) = humantime::parse_duration(back) {
        return Ok(minus(now, d));
    }
    for format in ["%H:%M", "%H:%M:%S"] {
        if let Ok(time) = NaiveTime::parse_from_str(t, format) {
            return local(zone, today.and_time(time), t);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return local(zone, date.and_time(NaiveTime::MIN), t);
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(t, format) {
            return local(zone, at, t);
        }
    }
    // Not cut to the millisecond: a bound keeps its precision (the store rounds a lower bound
    // up, so it never takes in a row before it).
    DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        format!(
            "{text:?} is not a time: use now, today, yesterday, tomorrow, HH:MM, -2h (ago), +2h, 2026-12-01, \"2026-12-01 22:00\" or RFC 3339"
        )
    })
}

/// A local wall time; one that a clock change skips is refused, one it repeats is the first.
fn local<Z: TimeZone>(zone: &Z, at: NaiveDateTime, text: &str) -> Result<DateTime<Utc>, String> {
    zone.from_local_datetime(&at)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!("{text:?} does not exist in the local zone (a clock change skips it)")
        })
}

/// For clap: against the present, in this machine's zone (a bad value is a usage error, 2).
pub(super) fn when_arg(text: &str) -> Result<DateTime<Utc>, String> {
    parse_when(text, Utc::now(), &Local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journalctl_style_times_are_read_in_the_given_zone() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:30:00Z")
            .unwrap()
            .to_utc();
        let zone = chrono_tz::Asia::Shanghai; // 18:30 local
        let at = |t: &str| parse_when(t, now, &zone).unwrap().to_rfc3339();
        assert_eq!(at("now"), "2026-12-02T10:30:00+00:00");
        assert_eq!(at("today"), "2026-12-01T16:00:00+00:00");
        assert_eq!(at("yesterday"), "2026-11-30T16:00:00+00:00");
        assert_eq!(at("tomorrow"), "2026-12-02T16:00:00+00:00");
        assert_eq!(at("22:00"), "2026-12-02T14:00:00+00:00");
        assert_eq!(at("06:15:30"), "2026-12-01T22:15:30+00:00");
        assert_eq!(at("-2h"), "2026-12-02T08:30:00+00:00");
        assert_eq!(at("2h"), "2026-12-02T08:30:00+00:00");
        assert_eq!(at("90m ago"), "2026-12-02T09:00:00+00:00");
        assert_eq!(at("+1d"), "2026-12-03T10:30:00+00:00");
        assert_eq!(at("2026-12-01"), "2026-11-30T16:00:00+00:00");
        assert_eq!(at("2026-12-01 22:00"), "2026-12-01T14:00:00+00:00");
        assert_eq!(at("2026-12-01T09:00:00+08:00"), "2026-12-01T01:00:00+00:00");
        for bad in ["tuesday", "25:00", "2026-13-01", "+soon", ""] {
            let err = parse_when(bad, now, &zone).unwrap_err();
            assert!(err.contains("is not a time"), "{bad}: {err}");
        }
        // A wall time a clock change skips is refused.
        let ny = chrono_tz::America::New_York;
        assert!(parse_when("2026-03-08 02:30", now, &ny).is_err());
    }
}
