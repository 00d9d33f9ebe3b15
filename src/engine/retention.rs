//! `[history] keep`: once at start and then daily, deliveries due longer ago than `keep` are
//! pruned with their attempts and recipients (`store::prune`: small batches, one instance at
//! a time on PostgreSQL). Off unless `keep` is set.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::platform::clock::Clock;
use crate::store::Store;

const DAILY: Duration = Duration::from_secs(24 * 3600);

/// Prunes until `stop`: at start, then every day.
pub(crate) async fn run(store: Store, keep: Duration, clock: Clock, stop: CancellationToken) {
    loop {
        let cutoff = crate::domain::time_math::minus(clock.now(), keep);
        match store.prune(cutoff).await {
            Ok(Some(p)) if p.deliveries > 0 => tracing::info!(
                deliveries = p.deliveries,
                attempts = p.attempts,
                recipients = p.recipients,
                "pruned the history older than {} ([history] keep)",
                humantime::format_duration(keep)
            ),
            Ok(Some(_)) => {}
            Ok(None) => tracing::debug!("another instance is pruning the history"),
            Err(err) => {
                tracing::error!(error = %err, "cannot prune the history; trying again tomorrow")
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(DAILY) => {}
        }
    }
}
