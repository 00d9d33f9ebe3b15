//! Pacing every request of one process to Workspace: at most `max_requests_per_second` (a
//! token bucket of one, so requests are spread evenly; unlimited by default), and a global
//! pause when the API gateway throttles (429, or an `APIG.0308`/`APIGW.0308` body): all
//! requests — sends, job polls, re-sends — wait out its `Retry-After`, or 2-5 s with jitter as
//! Huawei advises, instead of each delivery hammering on alone. The shared pause lasts at most
//! `workspace.throttle_pause_max` (5 s by default): one throttled call with `Retry-After: 60`
//! must not hold back every countdown warning of the process for a minute (the throttled
//! request itself still waits its whole `Retry-After`, through the retry policy).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

pub struct Pacer {
    /// The gap between two requests (None: unlimited).
    gap: Option<Duration>,
    /// The longest shared pause.
    max_pause: Duration,
    state: Mutex<State>,
    throttled: AtomicU64,
}

struct State {
    /// The earliest start of the next request.
    next_slot: Instant,
    /// No request starts before this (a throttling pause).
    paused_until: Instant,
}

impl Pacer {
    pub fn new(max_requests_per_second: Option<u32>, max_pause: Duration) -> Self {
        let now = Instant::now();
        Self {
            max_pause,
            gap: max_requests_per_second
                .filter(|n| *n > 0)
                .map(|n| Duration::from_secs(1) / n),
            state: Mutex::new(State {
                next_slot: now,
                paused_until: now,
            }),
            throttled: AtomicU64::new(0),
        }
    }

    /// Waits for this request's turn.
    pub async fn ready(&self) {
        let start = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let start = Instant::now().max(state.next_slot).max(state.paused_until);
            if let Some(gap) = self.gap {
                state.next_slot = start + gap;
            }
            start
        };
        tokio::time::sleep_until(start).await;
    }

    /// The gateway throttled a request: every request waits `retry_after`, or 2-5 s.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let pause = retry_after
            .unwrap_or_else(|| Duration::from_millis(2000 + jitter_ms(3000)))
            .min(self.max_pause);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + pause;
        if !pause.is_zero() && until > state.paused_until {
            state.paused_until = until;
            tracing::warn!(
                pause_ms = pause.as_millis() as u64,
                "Workspace throttled a request: pausing every request"
            );
        }
    }

    /// How many answers were throttling answers.
    pub fn throttled_count(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
}

/// A few ms of spread without a random-number dependency: the clock's nanoseconds.
fn jitter_ms(below: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    nanos % below.max(1)
}

/// True for a throttling answer: 429, or the gateway's throttling codes.
pub(super) fn is_throttling(status: u16, error_code: Option<&str>) -> bool {
    status == 429 || matches!(error_code, Some("APIG.0308" | "APIGW.0308"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spread_and_a_throttle_pauses_them_all() {
        let pacer = Pacer::new(Some(10), Duration::from_secs(5));
        let start = Instant::now();
        for _ in 0..5 {
            pacer.ready().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(400));
        pacer.throttled(Some(Duration::from_secs(3)));
        pacer.ready().await;
        assert!(start.elapsed() >= Duration::from_millis(3400));
        assert_eq!(pacer.throttled_count(), 1);
        let unlimited = Pacer::new(None, Duration::from_secs(5));
        let t = Instant::now();
        for _ in 0..100 {
            unlimited.ready().await;
        }
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_pauses_the_others_only_up_to_the_cap() {
        let pacer = Pacer::new(None, Duration::from_secs(5));
        let start = Instant::now();
        pacer.throttled(Some(Duration::from_secs(60)));
        pacer.ready().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        let none = Pacer::new(None, Duration::ZERO);
        let start = Instant::now();
        none.throttled(Some(Duration::from_secs(60)));
        none.ready().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[test]
    fn throttling_is_429_or_the_gateways_codes() {
        assert!(is_throttling(429, None));
        assert!(is_throttling(403, Some("APIG.0308")));
        assert!(is_throttling(500, Some("APIGW.0308")));
        assert!(!is_throttling(500, Some("WKS.0500")));
    }
}
