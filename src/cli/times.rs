//! How the command line shows instants: each command's natural zone (a schedule's or window's
//! own zone, this machine's for the agenda and pauses, UTC for stored history) unless the
//! global `--utc` or `--local` (this machine's zone, `TZ`) says otherwise. A shown time always
//! carries its offset (`22:00:00 +08:00`), never a bare abbreviation that could mean two zones.

use chrono::{DateTime, FixedOffset, Local, Utc};
use chrono_tz::Tz;
use std::sync::atomic::{AtomicU8, Ordering};

/// Where a command would show a time without `--utc`/`--local`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Natural {
    /// A schedule's, window's or rule's own zone.
    Zone(Tz),
    /// This machine's zone.
    Machine,
    /// UTC (stored history).
    Utc,
}

static CHOICE: AtomicU8 = AtomicU8::new(0);

/// From the global flags (`--utc` wins over nothing, `--local` likewise; clap refuses both).
pub(super) fn choose(utc: bool, local: bool) {
    let choice = match (utc, local) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    };
    CHOICE.store(choice, Ordering::Relaxed);
}

/// `t` in the zone the flags or `natural` give, with its offset.
pub(crate) fn zoned(t: DateTime<Utc>, natural: Natural) -> DateTime<FixedOffset> {
    let natural = match CHOICE.load(Ordering::Relaxed) {
        1 => Natural::Utc,
        2 => Natural::Machine,
        _ => natural,
    };
    match natural {
        Natural::Zone(zone) => t.with_timezone(&zone).fixed_offset(),
        Natural::Machine => t.with_timezone(&Local).fixed_offset(),
        Natural::Utc => t.fixed_offset(),
    }
}

/// `2026-12-05 22:00:00 +08:00`, for tables.
pub(crate) fn shown(t: DateTime<Utc>, natural: Natural) -> String {
    zoned(t, natural)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// A stored time (RFC 3339) shown like [`shown`]; text that is not one is shown as it is.
pub(crate) fn shown_stored(text: &str, natural: Natural) -> String {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => shown(t.to_utc(), natural),
        Err(_) => text.to_owned(),
    }
}
