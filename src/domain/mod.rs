//! Pure values, no I/O: identifiers, schedules and their next fire times, maintenance windows,
//! message templates, the retry decision and instant arithmetic.

pub mod access;
pub mod audience;
mod catch_up;
pub(crate) mod cron;
mod cron_check;
mod cron_fields;
mod ids;
pub(crate) mod job;
pub(crate) mod maintenance;
pub(crate) mod retry;
pub(crate) mod schedule;
mod status;
pub(crate) mod template;
pub(crate) mod time_math;
pub(crate) mod trigger;
pub mod workspace_task;

pub use ids::*;

/// A value as an error message echoes it: at most `limit` characters (then "…"), control
/// characters escaped, so a huge or hostile value neither floods nor drives a terminal.
pub fn shown(text: &str, limit: usize) -> String {
    let cut: String = text.chars().take(limit).collect();
    let more = if text.chars().nth(limit).is_some() {
        "…"
    } else {
        ""
    };
    format!("{}{more}", cut.escape_debug())
}
pub use status::Status;
