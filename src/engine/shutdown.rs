//! Stopping: the two-stage stop signal every long-running part takes as an argument, and the
//! sleep that gives way to it.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The two stages of a stop: `stop` starts no new attempt; `abort` (after `shutdown_grace`)
/// also drops attempts in flight.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
}

/// Sleeps for `delay`; false if `stop` fired first.
pub async fn sleep_unless_stopped(delay: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = stop.cancelled() => false,
    }
}

/// Waits for in-flight deliveries up to `grace`, then abandons what is still in flight (its
/// rows stay `pending` for the next start).
pub async fn drain(tracker: &tokio_util::task::TaskTracker, shutdown: &Shutdown, grace: Duration) {
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(grace = %humantime::format_duration(grace), "shutdown_grace over: abandoning attempts in flight; their deliveries stay pending");
        shutdown.abort.cancel();
        tracker.wait().await;
    }
}
