//! Cron expressions kept small. A parsed `croner::Cron` holds a 5,000-entry year table (about
//! 5 KB) and takes about 10 µs to build; 100,000 schedules with distinct expressions would need
//! 500 MB and a second of parsing. Instead, an expression made of numbers, names, `*`, `?`,
//! lists, ranges and steps (nearly all of them) is read into [`Compact`]: one bit per second,
//! minute, hour, day, month and weekday, 32 bytes, and its next fire time is found here with
//! the rules croner applies, daylight-saving rules included (see [`Compact::next_after`]). A
//! differential test holds the two to the same answers for random expressions, zones and
//! instants (`cron_tests.rs`).
//!
//! Anything else (`L`, `W`, `#`, `@daily`, a year field, `+` for AND) is parsed by croner as
//! before and evaluated by it, through a small cache of parsed expressions. Earlier fire times
//! (`previous_at_or_before`, only used when a long downtime is walked backwards) always go
//! through croner.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

#[cfg(test)]
use super::cron_fields::{MONTHS, WEEKDAYS};
use super::cron_fields::{Names, field};

/// A validated cron expression: its text, and its compact form when it has one.
#[derive(Clone)]
pub struct CronExpr {
    text: Arc<str>,
    compact: Option<Compact>,
}

impl std::fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", &*self.text)
    }
}

/// Equal when written the same way (the config's notion of "changed").
impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl CronExpr {
    /// Parses an expression with optional seconds, the way the config and CLI accept it. An
    /// expression that matches no date (`"0 0 30 2 *"`) is refused rather than never firing.
    pub fn parse(text: &str) -> Result<CronExpr, String> {
        super::cron_check::check(text)?;
        // Any date pattern that exists recurs within 28 years of 2000 (leap days included).
        let reference = DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z")
            .expect("valid")
            .to_utc();
        let (compact, never) = match Compact::parse(text) {
            Some(compact) => (
                Some(compact),
                compact
                    .first_date_from(reference.date_naive(), 28 * 366)
                    .is_none(),
            ),
            None => (
                None,
                croner_parse(text)?
                    .find_next_occurrence(&reference, false)
                    .is_err(),
            ),
        };
        if never {
            return Err("it never fires: no date matches it".to_owned());
        }
        Ok(CronExpr {
            text: text.into(),
            compact,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when evaluated here rather than by croner.
    #[cfg(test)]
    pub fn is_compact(&self) -> bool {
        self.compact.is_some()
    }

    /// The first fire time strictly after `after`, in zone `tz`.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.compact {
            Some(compact) => compact.next_after(tz, after),
            None => cached(&self.text)?
                .find_next_occurrence(&after.with_timezone(&tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// The latest fire time at or before `t`, in zone `tz` (always by croner).
    pub fn previous_at_or_before(&self, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        cached(&self.text)?
            .find_previous_occurrence(&t.with_timezone(&tz), true)
            .ok()
            .map(|p| p.with_timezone(&Utc))
    }
}

fn croner_parse(text: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(text)
        .map_err(|err| format!("it is not a cron expression croner can read ({err})"))
}

/// Parsed expressions that have no compact form, shared by the schedules that use them.
/// Bounded: when it holds [`CACHE_LIMIT`] entries it starts over (such expressions are rare,
/// and a miss only costs one parse).
fn cached(text: &str) -> Option<Arc<Cron>> {
    const CACHE_LIMIT: usize = 256;
    static CACHE: LazyLock<Mutex<HashMap<Arc<str>, Arc<Cron>>>> = LazyLock::new(Default::default);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(cron) = cache.get(text) {
        return Some(cron.clone());
    }
    let cron = Arc::new(croner_parse(text).ok()?);
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(text.into(), cron.clone());
    Some(cron)
}

/// One bit per allowed value of each field. Built only from the plain syntax, so that every
/// expression it accepts means here exactly what it means to croner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Compact {
    seconds: u64,
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    days: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday = 0.
    weekdays: u8,
    /// The day-of-month field is `*` (or `?`): the weekday field alone decides.
    star_dom: bool,
    star_dow: bool,
    /// Seconds, minutes and hours each name one value: fires once a day at most, and fires
    /// after a daylight-saving gap that swallowed its time (croner's "fixed time" job).
    fixed_time: bool,
}

/// Croner's last searchable year.
const YEAR_LIMIT: i32 = 5000;

impl Compact {
    /// The compact form of `text`, if it uses only the plain syntax: 5 or 6 fields of
    /// numbers (or month and weekday names in their own fields), `*`, `?` for a day field,
    /// lists, ranges and `*/n` or `a-b/n` steps.
    pub(crate) fn parse(text: &str) -> Option<Compact> {
        let upper = text.trim().to_ascii_uppercase();
        let parts: Vec<&str> = upper.split_whitespace().collect();
        let f: [&str; 6] = match parts[..] {
            [m, h, dom, mon, dow] => ["0", m, h, dom, mon, dow],
            [s, m, h, dom, mon, dow] => [s, m, h, dom, mon, dow],
            _ => return None,
        };
        let dom = if f[3] == "?" { "*" } else { f[3] };
        let dow = if f[5] == "?" { "*" } else { f[5] };
        let seconds = field(f[0], 0, 59, Names::None)?;
        let minutes = field(f[1], 0, 59, Names::None)?;
        let hours = field(f[2], 0, 23, Names::None)?;
        let days = field(dom, 1, 31, Names::None)?;
        let months = field(f[4], 1, 12, Names::Months)?;
        let weekdays = field(dow, 0, 7, Names::Weekdays)?;
        // Sunday is 0 or 7.
        let weekday_bits = (weekdays.bits | weekdays.bits >> 7) & 0x7f;
        Some(Compact {
            fixed_time: seconds.single_value() && minutes.single_value() && hours.single_value(),
            seconds: seconds.bits,
            minutes: minutes.bits,
            hours: u32::try_from(hours.bits).ok()?,
            days: u32::try_from(days.bits).ok()?,
            months: u16::try_from(months.bits).ok()?,
            weekdays: u8::try_from(weekday_bits).ok()?,
            star_dom: dom == "*",
            star_dow: dow == "*",
        })
    }

    /// The first fire time strictly after `after` in `tz`, as croner finds it: the wall clock
    /// is walked forward; a matching local time that happens twice fires at its first instant
    /// (a fixed-time job) or at each (an interval job); one that a spring-forward gap skips
    /// fires at the first instant after the gap (a fixed-time job) or not at all.
    pub(crate) fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let origin = after.with_timezone(&tz);
        let in_fold = self.walk(&origin, false)?;
        if self.fixed_time || fold_of(&origin) != Some(Fold::Earlier) {
            return Some(in_fold.to_utc());
        }
        // On the first pass through a repeated hour, the second pass is still ahead, and
        // the wall-clock walk above never sees it.
        let edge = later_fold_start(&origin)?;
        if in_fold < edge {
            return Some(in_fold.to_utc());
        }
        let in_other = self.walk(&edge, true)?;
        Some(in_other.min(in_fold).to_utc())
    }

    fn walk(&self, origin: &DateTime<Tz>, inclusive: bool) -> Option<DateTime<Tz>> {
        let tz = origin.timezone();
        let mut civil = origin.naive_local().with_nanosecond(0)?;
        if !inclusive {
            civil += TimeDelta::seconds(1);
        }
        let behind = |instant: &DateTime<Tz>| *instant + TimeDelta::seconds(1) <= *origin;
        loop {
            civil = self.first_match_from(civil)?;
            match tz.from_local_datetime(&civil) {
                LocalResult::Single(dt) => return Some(dt),
                LocalResult::Ambiguous(earlier, later) => {
                    if !behind(&earlier) {
                        return Some(earlier);
                    }
                    if !self.fixed_time && !behind(&later) {
                        return Some(later);
                    }
                    civil += TimeDelta::seconds(1);
                }
                LocalResult::None if self.fixed_time => {
                    let (after_gap, instant) = first_after_gap(tz, civil)?;
                    if self.date_matches(after_gap.date())
                        && (instant > *origin || (instant == *origin && inclusive))
                    {
                        return Some(instant);
                    }
                    civil = after_gap;
                }
                LocalResult::None => civil += TimeDelta::seconds(1),
            }
        }
    }

    /// The first local time at or after `from` that the expression matches.
    fn first_match_from(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut date = from.date();
        let mut time = Some(from.time());
        loop {
            if date.year() > YEAR_LIMIT {
                return None;
            }
            if self.months & (1 << date.month()) == 0 {
                date = first_of_next_month(date)?;
                time = None;
                continue;
            }
            if self.date_matches(date)
                && let Some(t) = self.first_time_from(time.unwrap_or(NaiveTime::MIN))
            {
                return Some(date.and_time(t));
            }
            date = date.succ_opt()?;
            time = None;
        }
    }

    /// The first matching date at or after `from`, looking at most `days` days ahead.
    fn first_date_from(&self, from: NaiveDate, days: u32) -> Option<NaiveDate> {
        from.iter_days()
            .take(days as usize)
            .find(|d| self.date_matches(*d))
    }

    /// The month, then day of month and weekday with the usual cron rule: when both are
    /// restricted, either may match; when one is `*`, the other decides.
    fn date_matches(&self, date: NaiveDate) -> bool {
        let day = self.days & (1 << date.day()) != 0;
        let weekday = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        let days = if (day && self.star_dow) || (weekday && self.star_dom) {
            true
        } else {
            !self.star_dom && !self.star_dow && (day || weekday)
        };
        days && self.months & (1 << date.month()) != 0
    }

    /// The first matching time of day at or after `from`, on the same day.
    fn first_time_from(&self, from: NaiveTime) -> Option<NaiveTime> {
        let (h0, m0, s0) = (from.hour(), from.minute(), from.second());
        let hours = u64::from(self.hours);
        let mut h = next_bit(hours, h0)?;
        loop {
            let mut m = next_bit(self.minutes, if h == h0 { m0 } else { 0 });
            while let Some(minute) = m {
                let s_start = if h == h0 && minute == m0 { s0 } else { 0 };
                if let Some(s) = next_bit(self.seconds, s_start) {
                    return NaiveTime::from_hms_opt(h, minute, s);
                }
                m = next_bit(self.minutes, minute + 1);
            }
            h = next_bit(hours, h + 1)?;
        }
    }
}

/// The lowest set bit at or above `from`.
fn next_bit(bits: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = bits >> from;
    (rest != 0).then(|| from + rest.trailing_zeros())
}

fn first_of_next_month(date: NaiveDate) -> Option<NaiveDate> {
    match date.month() {
        12 => NaiveDate::from_ymd_opt(date.year() + 1, 1, 1),
        m => NaiveDate::from_ymd_opt(date.year(), m + 1, 1),
    }
}

/// The first local time after `civil` (inside a gap) that exists, and its instant.
fn first_after_gap(tz: Tz, civil: NaiveDateTime) -> Option<(NaiveDateTime, DateTime<Tz>)> {
    let mut t = civil;
    for _ in 0..2 * 3600 {
        t += TimeDelta::seconds(1);
        match tz.from_local_datetime(&t) {
            LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => return Some((t, dt)),
            LocalResult::None => {}
        }
    }
    None
}

#[derive(Debug, PartialEq, Eq)]
enum Fold {
    Earlier,
    Later,
}

/// Which pass through a repeated local time `instant` is on, if its local time repeats.
fn fold_of(instant: &DateTime<Tz>) -> Option<Fold> {
    let civil = instant.naive_local().with_nanosecond(0)?;
    match instant.timezone().from_local_datetime(&civil) {
        LocalResult::Ambiguous(_, later) if *instant < later => Some(Fold::Earlier),
        LocalResult::Ambiguous(..) => Some(Fold::Later),
        _ => None,
    }
}

/// From an instant on the first pass through a repeated range, the first instant (in whole
/// seconds from it) that is no longer on the first pass: where the second pass begins.
fn later_fold_start(origin: &DateTime<Tz>) -> Option<DateTime<Tz>> {
    let at = |s: i64| *origin + TimeDelta::seconds(s);
    let inside = |s: i64| fold_of(&at(s)) == Some(Fold::Earlier);
    let (mut inside_s, mut outside_s) = (0i64, 86_400i64);
    if inside(outside_s) {
        return None;
    }
    while outside_s - inside_s > 1 {
        let middle = inside_s + (outside_s - inside_s) / 2;
        if inside(middle) {
            inside_s = middle;
        } else {
            outside_s = middle;
        }
    }
    Some(at(outside_s))
}

#[cfg(test)]
#[path = "cron_tests.rs"]
mod tests;
