//! Pure values, no I/O: identifiers, schedules and their next fire times, maintenance windows,
//! message templates, the retry decision and instant arithmetic.

mod ids;
pub mod maintenance;
pub mod retry;
pub mod schedule;
mod status;
pub mod template;
pub mod time_math;
pub mod trigger;

pub use ids::*;
pub use status::Status;
