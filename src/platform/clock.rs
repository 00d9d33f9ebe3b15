//! The wall clock, passed in rather than read globally, so tests can run the daemon "an hour
//! later" without waiting an hour. Sleeping still uses tokio's monotonic clock.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    offset: TimeDelta,
}

impl Clock {
    /// The real time.
    pub fn system() -> Self {
        Self::default()
    }

    /// The real time moved by `offset` (tests; a simulated restart after downtime).
    pub fn shifted(offset: TimeDelta) -> Self {
        Self { offset }
    }

    /// Milliseconds are the finest grain stored, so the clock gives no finer.
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + self.offset).trunc_subsecs(3)
    }
}
