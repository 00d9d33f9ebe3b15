//! The field-by-field check every cron expression passes before it is evaluated, so that an
//! expression means one thing to every reader and a mistake is explained in cron's own terms
//! (`day-of-month 32 is out of range 1-31`), not in the evaluator's.
//!
//! Refused here although croner alone would accept them with a surprising meaning:
//! - a month or weekday name outside its own field (`0 0 * * JAN` would be Mondays, because
//!   names are replaced by numbers before the fields are split);
//! - an empty list item (`0 9, 17 * * *` would shift every field one column left);
//! - a weekday range from Sunday to `SUN` (`SUN-SUN`, `0-SUN`, `SUN-SUN/2`): Debian's cron
//!   reads it as Sunday, croner as every day (it reads `SUN` ending a range as 7).
//!
//! What passes is then parsed by croner (or the compact form); the checks here are a subset
//! of croner's grammar, never a wider one.

/// The fields with extras of their own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    DayOfMonth,
    DayOfWeek,
}

/// One field's name, bounds and the extras it allows.
struct Spec {
    kind: Kind,
    name: &'static str,
    min: u64,
    max: u64,
    names: &'static [&'static str],
    name_base: u64,
}

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const fn spec(name: &'static str, min: u64, max: u64) -> Spec {
    Spec {
        kind: Kind::Plain,
        name,
        min,
        max,
        names: &[],
        name_base: 0,
    }
}

const SECOND: Spec = spec("second", 0, 59);
const MINUTE: Spec = spec("minute", 0, 59);
const HOUR: Spec = spec("hour", 0, 23);
const DAY_OF_MONTH: Spec = Spec {
    kind: Kind::DayOfMonth,
    ..spec("day-of-month", 1, 31)
};
const MONTH: Spec = Spec {
    names: &MONTH_NAMES,
    name_base: 1,
    ..spec("month", 1, 12)
};
const DAY_OF_WEEK: Spec = Spec {
    kind: Kind::DayOfWeek,
    names: &WEEKDAY_NAMES,
    ..spec("day-of-week", 0, 7)
};
const YEAR: Spec = spec("year", 1, 5000);

const NICKNAMES: [&str; 6] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@hourly",
];

/// Checks `text` field by field; the error names the field, the bad value and what is allowed.
pub(crate) fn check(text: &str) -> Result<(), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    if text.starts_with('@') {
        return match NICKNAMES.iter().any(|n| n.eq_ignore_ascii_case(text)) {
            true => Ok(()),
            false => Err(format!(
                "unknown nickname {} (known: {})",
                shown(text),
                NICKNAMES.join(", ")
            )),
        };
    }
    let upper = text.to_ascii_uppercase();
    let fields: Vec<&str> = upper.split_whitespace().collect();
    let specs: &[&Spec] = match fields.len() {
        5 => &[&MINUTE, &HOUR, &DAY_OF_MONTH, &MONTH, &DAY_OF_WEEK],
        6 => &[&SECOND, &MINUTE, &HOUR, &DAY_OF_MONTH, &MONTH, &DAY_OF_WEEK],
        7 => &[
            &SECOND,
            &MINUTE,
            &HOUR,
            &DAY_OF_MONTH,
            &MONTH,
            &DAY_OF_WEEK,
            &YEAR,
        ],
        n => {
            return Err(format!(
                "it has {n} fields: write 5 (minute hour day-of-month month day-of-week), \
                 6 with a second first, or 7 with a year last"
            ));
        }
    };
    for (field, spec) in fields.iter().zip(specs) {
        check_field(field, spec)?;
    }
    Ok(())
}

fn check_field(field: &str, spec: &Spec) -> Result<(), String> {
    if field == "*" || (field == "?" && spec.kind != Kind::Plain) {
        return Ok(());
    }
    // `+` before the day-of-week field: the day fields must both match (AND).
    let list = match field.strip_prefix('+') {
        Some(rest) if spec.kind == Kind::DayOfWeek => rest,
        _ => field,
    };
    for item in list.split(',') {
        if item.is_empty() {
            return Err(format!(
                "{} {} has an empty list item (a stray comma or a space after one?)",
                spec.name,
                shown(field)
            ));
        }
        check_item(item, spec)?;
    }
    Ok(())
}

fn check_item(item: &str, spec: &Spec) -> Result<(), String> {
    let name = spec.name;
    if spec.kind == Kind::DayOfMonth {
        // `L` (last day), `LW` (last weekday), `15W` (weekday nearest the 15th).
        if item == "L" || item == "LW" {
            return Ok(());
        }
        if let Some(day) = item.strip_suffix('W') {
            return number(day, spec).map(drop);
        }
    }
    if spec.kind == Kind::DayOfWeek {
        // `5L` (last Friday of the month), `5#2` (second Friday).
        if let Some(day) = item.strip_suffix('L').filter(|d| !d.is_empty()) {
            return value(day, spec).map(drop);
        }
        if let Some((day, nth)) = item.split_once('#') {
            value(day, spec)?;
            return match nth.parse::<u8>() {
                Ok(1..=5) => Ok(()),
                _ => Err(format!(
                    "{name} {}: the occurrence after # must be 1-5",
                    shown(item)
                )),
            };
        }
    }
    let (span, step) = match item.split_once('/') {
        Some((span, step)) => (span, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step {
        match number(step, &spec_any(name)) {
            Ok(s) if s >= 1 => {}
            _ => {
                return Err(format!(
                    "{name} {}: the step after / must be a whole number of at least 1",
                    shown(item)
                ));
            }
        }
    }
    if span == "*" {
        return Ok(());
    }
    match span.split_once('-') {
        Some((from, to)) => {
            let start = value(from, spec)?;
            // Croner (like several crons) reads `SUN` ending a range as 7.
            let sunday_end = spec.kind == Kind::DayOfWeek && to == "SUN";
            let end = if sunday_end { 7 } else { value(to, spec)? };
            if sunday_end && start == 0 {
                return Err(format!(
                    "{name} {}: a range from Sunday to SUN means Sunday to some crons and \
                     every day to others; write SUN, or * for every day",
                    shown(item)
                ));
            }
            if start > end {
                return Err(format!(
                    "{name} range {} runs backwards (from {start} down to {end})",
                    shown(span)
                ));
            }
            Ok(())
        }
        None if step.is_some() => Err(format!(
            "{name} {}: a step needs * or a range before it (e.g. */{s} or {span}-{max}/{s})",
            shown(item),
            s = step.unwrap_or_default(),
            max = spec.max,
        )),
        None => value(span, spec).map(drop),
    }
}

/// A bound-free spec for reading a step.
fn spec_any(name: &'static str) -> Spec {
    spec(name, 0, u64::from(u16::MAX))
}

/// A number or a name of this field, within the field's range.
fn value(text: &str, spec: &Spec) -> Result<u64, String> {
    if let Some(index) = spec.names.iter().position(|n| *n == text) {
        return Ok(spec.name_base + index as u64);
    }
    let other = match () {
        _ if MONTH_NAMES.contains(&text) => Some("month"),
        _ if WEEKDAY_NAMES.contains(&text) => Some("day-of-week"),
        _ => None,
    };
    if let Some(other) = other {
        return Err(format!(
            "{} {}: {text} is a {other} name, allowed only in the {other} field",
            spec.name,
            shown(text)
        ));
    }
    number(text, spec)
}

fn number(text: &str, spec: &Spec) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        let names = match spec.names.first() {
            Some(first) => format!(" or a name {first}-{}", spec.names.last().unwrap_or(first)),
            None => String::new(),
        };
        return Err(format!(
            "{} {} is not a number{names}",
            spec.name,
            shown(text)
        ));
    }
    match text.parse::<u64>() {
        Ok(n) if (spec.min..=spec.max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{} {} is out of range {}-{}",
            spec.name,
            shown(text),
            spec.min,
            spec.max
        )),
    }
}

fn shown(text: &str) -> String {
    super::shown(text, 40)
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn names_are_refused_outside_their_field() {
        for (expr, error) in [
            (
                "0 9 * MON-FRI *",
                "month MON: MON is a day-of-week name, allowed only in the day-of-week field",
            ),
            (
                "0 0 * * JAN",
                "day-of-week JAN: JAN is a month name, allowed only in the month field",
            ),
            (
                "JAN * * * *",
                "minute JAN: JAN is a month name, allowed only in the month field",
            ),
            ("0 0 1DAY * *", "day-of-month 1DAY is not a number"),
            (
                "0 0 * * FOO",
                "day-of-week FOO is not a number or a name SUN-SAT",
            ),
        ] {
            assert_eq!(check(expr), Err(error.to_owned()), "{expr}");
        }
        assert_eq!(check("0 9 * jan-mar mon-fri"), Ok(()));
    }

    #[test]
    fn empty_list_items_and_ambiguous_sunday_ranges_are_refused() {
        assert_eq!(
            check("0 9, 17 * * *"),
            Err("minute 9, has an empty list item (a stray comma or a space after one?)".into())
        );
        for expr in [
            "0 0 * * 1,,2",
            "0 0 * * ,1",
            "0 0 * * SUN-SUN",
            "0 0 * * 0-SUN",
        ] {
            assert!(check(expr).is_err(), "{expr}");
        }
        assert!(
            check("0 0 * * SUN-SUN/2")
                .unwrap_err()
                .contains("write SUN, or * for every day")
        );
        for expr in [
            "0 0 * * SAT-SUN",
            "0 0 * * MON-SUN",
            "0 0 * * 0-7",
            "0 0 * * SUN",
        ] {
            assert_eq!(check(expr), Ok(()), "{expr}");
        }
    }

    #[test]
    fn errors_name_the_field_the_value_and_the_range() {
        for (expr, error) in [
            ("0 0 32 * *", "day-of-month 32 is out of range 1-31"),
            ("61 * * * *", "minute 61 is out of range 0-59"),
            ("0 24 * * *", "hour 24 is out of range 0-23"),
            ("60 0 0 * * *", "second 60 is out of range 0-59"),
            ("0 0 * 13 *", "month 13 is out of range 1-12"),
            ("0 0 * * 8", "day-of-week 8 is out of range 0-7"),
            (
                "0 0 * * 99999999999999999999",
                "day-of-week 99999999999999999999 is out of range 0-7",
            ),
            (
                "*/0 * * * *",
                "minute */0: the step after / must be a whole number of at least 1",
            ),
            (
                "5-0 * * * *",
                "minute range 5-0 runs backwards (from 5 down to 0)",
            ),
            (
                "3/5 * * * *",
                "minute 3/5: a step needs * or a range before it (e.g. */5 or 3-59/5)",
            ),
            (
                "0 0 * * 5#6",
                "day-of-week 5#6: the occurrence after # must be 1-5",
            ),
            (
                "0 0 * *",
                "it has 4 fields: write 5 (minute hour day-of-month month day-of-week), 6 with a second first, or 7 with a year last",
            ),
            (
                "@fortnightly",
                "unknown nickname @fortnightly (known: @yearly, @annually, @monthly, @weekly, @daily, @hourly)",
            ),
            ("? 0 * * *", "minute ? is not a number"),
        ] {
            assert_eq!(check(expr), Err(error.to_owned()), "{expr}");
        }
    }

    #[test]
    fn croner_extensions_pass() {
        for expr in [
            "0 0 L * *",
            "0 0 LW * *",
            "0 0 15W * *",
            "0 0 * * 5L",
            "0 0 * * FRI#2",
            "0 0 1 * +MON",
            "@daily",
            "0 0 0 1 1 * 2030",
            "0 0 ? * MON",
        ] {
            assert_eq!(check(expr), Ok(()), "{expr}");
        }
    }
}
