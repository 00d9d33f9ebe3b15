//! How the daemon is doing, for whoever asks (`/healthz`, `/readyz` in the listener): when the
//! scheduler loop last turned, and whether startup is done. The scheduler writes it; the HTTP
//! listener reads it; neither depends on the other.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// The scheduler loop turns at least once a second; this long without a turn is unhealthy.
const STALL: Duration = Duration::from_secs(5);

/// What `/healthz` and `/readyz` look at. Ages are measured on the monotonic clock, so a
/// wall-clock step does not make a healthy loop look stalled.
#[derive(Debug)]
pub(crate) struct Health {
    born: Instant,
    /// When the scheduler loop last turned, in ms since `born` (0: never).
    last_tick_ms: AtomicI64,
    ready: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            born: Instant::now(),
            last_tick_ms: AtomicI64::new(0),
            ready: AtomicBool::new(false),
        }
    }
}

impl Health {
    fn now_ms(&self) -> i64 {
        // +1 so that a tick in the first millisecond is not "never".
        self.born.elapsed().as_millis() as i64 + 1
    }

    pub(crate) fn tick(&self) {
        self.last_tick_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }

    /// True once startup (migrations, recovery, the first schedule load) is done.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// None if the loop turned recently; else how long ago it did.
    pub(crate) fn stalled_for(&self) -> Option<Duration> {
        let last = self.last_tick_ms.load(Ordering::Relaxed);
        let age = Duration::from_millis((self.now_ms() - last).max(0) as u64);
        (last == 0 || age > STALL).then_some(age)
    }
}
