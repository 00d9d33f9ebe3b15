//! The plain cron syntax, one field at a time, for the compact form (`cron.rs`): numbers,
//! month and weekday names in their own fields, `*`, lists, ranges and steps, read into one bit
//! per allowed value. Anything else is `None`, and croner decides.

/// A field read from the plain syntax: its bits, and what croner's job type looks at.
pub(super) struct Field {
    pub(super) bits: u64,
    step: u16,
    from_wildcard: bool,
}

impl Field {
    pub(super) fn single_value(&self) -> bool {
        self.step == 1 && !self.from_wildcard && self.bits.count_ones() == 1
    }
}

#[derive(Clone, Copy)]
pub(super) enum Names {
    None,
    Months,
    Weekdays,
}

pub(super) const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
pub(super) const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(text: &str, names: Names) -> Option<u16> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let (table, base): (&[&str], u16) = match names {
        Names::None => return None,
        Names::Months => (&MONTHS, 1),
        Names::Weekdays => (&WEEKDAYS, 0),
    };
    let index = table.iter().position(|n| *n == text)?;
    Some(base + u16::try_from(index).ok()?)
}

/// The end of a range: `SUN` ending a weekday range is 7, as croner reads it (`SAT-SUN`).
fn range_end(text: &str, names: Names) -> Option<u16> {
    match names {
        Names::Weekdays if text == "SUN" => Some(7),
        _ => value(text, names),
    }
}

/// One field in the plain syntax, or `None` for anything else (croner then decides).
pub(super) fn field(text: &str, min: u16, max: u16, names: Names) -> Option<Field> {
    let mut out = Field {
        bits: 0,
        step: 1,
        from_wildcard: false,
    };
    let range = |from: u16, to: u16, step: u16| -> Option<u64> {
        if from < min || to > max || from > to || step == 0 {
            return None;
        }
        Some(
            (from..=to)
                .step_by(usize::from(step))
                .fold(0u64, |bits, v| bits | 1 << v),
        )
    };
    if text == "*" {
        out.from_wildcard = true;
        out.bits = range(min, max, 1)?;
        return Some(out);
    }
    for part in text.split(',') {
        let bits = match part.split_once('/') {
            Some((span, step)) => {
                let step: u16 = value(step, Names::None)?;
                out.step = step;
                if span == "*" {
                    out.from_wildcard = true;
                    range(min, max, step)?
                } else {
                    let (from, to) = span.split_once('-')?;
                    range(value(from, names)?, range_end(to, names)?, step)?
                }
            }
            None => match part.split_once('-') {
                Some((from, to)) => range(value(from, names)?, range_end(to, names)?, 1)?,
                None => {
                    let v = value(part, names)?;
                    range(v, v, 1)?
                }
            },
        };
        out.bits |= bits;
    }
    Some(out)
}
