//! Pure values, no I/O: identifiers, schedules and their next fire times, maintenance windows,
//! message templates, the retry decision and instant arithmetic.

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

pub use ids::*;
pub use status::Status;
