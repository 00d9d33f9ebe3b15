//! The long-running service: recover, load, fire, reload, stop. Signals are translated to
//! [`Control`] messages by the CLI, so tests drive the same code in-process.

use std::path::Path;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::{self, Config};
use crate::delivery::Shutdown;
use crate::notify;
use crate::scheduler::{Scheduler, Update};
use crate::setup::{self, SetupError};
use crate::store::{Claimed, Status, Store, StoreError, format_time};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the outside world steers a running daemon.
pub struct Control {
    /// `stop` on SIGTERM; `abort` is fired by the daemon itself after `shutdown_grace`.
    pub shutdown: Shutdown,
    /// One message per SIGHUP: re-read the config file.
    pub reload: mpsc::Receiver<()>,
}

/// Runs the daemon until `control.shutdown.stop`. Migrations, recovery and the first schedule
/// load happen before READY=1.
pub async fn serve(config: Config, clock: Clock, mut control: Control) -> Result<(), DaemonError> {
    let sender = setup::build_sender(&config, &setup::process_env)?;
    let store = setup::open_store(&config).await?;
    let deliverer = Arc::new(setup::build_deliverer(
        &config,
        store.clone(),
        sender,
        clock,
    ));
    let tracker = TaskTracker::new();
    let shutdown = control.shutdown.clone();
    let mut scheduler = Scheduler::new(
        store.clone(),
        Arc::clone(&deliverer),
        clock,
        tracker.clone(),
        shutdown.clone(),
    );
    scheduler.start_deliveries(recover_pending(&store, clock).await?);
    scheduler.apply(config.schedules.clone()).await?;
    let status = scheduler.status_line();
    tracing::info!(database = %config.daemon.database.display(), dry_run = config.daemon.dry_run, "started: {status}");
    notify::ready(&status);

    let (updates_tx, updates_rx) = mpsc::channel(4);
    let loop_task = tokio::spawn(scheduler.run(updates_rx));
    let path = config.path.clone();
    loop {
        tokio::select! {
            () = shutdown.stop.cancelled() => break,
            Some(()) = control.reload.recv() => reload(&path, &updates_tx).await,
        }
    }
    notify::stopping();
    tracing::info!(
        in_flight = tracker.len(),
        "stopping: no new fires; waiting for in-flight attempts"
    );
    let _ = loop_task.await;
    tracker.close();
    if tokio::time::timeout(config.daemon.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(grace = %humantime::format_duration(config.daemon.shutdown_grace), "shutdown_grace over: abandoning attempts in flight; their deliveries stay pending");
        shutdown.abort.cancel();
        tracker.wait().await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGHUP: re-read the file; a bad file is logged and the running schedules stay. READY=1
/// follows once the scheduler has applied the new set (or kept the old one).
async fn reload(path: &Path, updates: &mpsc::Sender<Update>) {
    notify::reloading();
    match config::load(path) {
        Ok(new) => {
            let (done, applied) = oneshot::channel();
            if updates.send((new.schedules, done)).await.is_ok() {
                let _ = applied.await;
            }
            tracing::info!("reloaded {}", path.display());
        }
        Err(err) => tracing::error!("reload refused, keeping the running schedules: {err}"),
    }
    notify::ready("reloaded");
}

/// Rows left `pending` by a crash or stop: resumed if their deadline is ahead (attempt
/// numbering continues), closed as `failed` otherwise.
async fn recover_pending(store: &Store, clock: Clock) -> Result<Vec<Claimed>, StoreError> {
    let now = clock.now();
    let mut resumable = Vec::new();
    for delivery in store.pending_deliveries().await? {
        if delivery.deadline_at <= now {
            let reason = format!(
                "the service stopped after {} attempt(s) and its deadline {} passed before it ran again",
                delivery.attempts,
                format_time(delivery.deadline_at)
            );
            store
                .finish_delivery(delivery.id, Status::Failed, Some(&reason), now)
                .await?;
            tracing::warn!(delivery_id = delivery.id, schedule_id = %delivery.schedule_id, pool_id = %delivery.pool_id, due_at = %format_time(delivery.due_at), status = "failed", "{reason}");
            continue;
        }
        tracing::info!(delivery_id = delivery.id, schedule_id = %delivery.schedule_id, pool_id = %delivery.pool_id, attempts = delivery.attempts, "resuming a pending delivery");
        resumable.push(delivery);
    }
    Ok(resumable)
}
