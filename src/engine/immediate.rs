//! One delivery (or one per pool) now, through the daemon's path: claimed as a registered
//! instance, attempted, retried and recorded exactly like a scheduled one. For `send` and the
//! notice of `maintenance cancel`.

use std::sync::Arc;

use crate::config::Config;
use crate::domain::audience::Desktop;
use crate::domain::schedule::ScheduleSpec;
use crate::domain::{ScheduleId, Status, Target, WorkspaceName};
use crate::engine::audiences::list_until;
use crate::engine::delivery::Outcome;
use crate::engine::membership;
use crate::engine::occurrence::OccurrenceTally;
use crate::engine::occurrence_rows::resolved_deliveries;
use crate::engine::shutdown::Shutdown;
use crate::engine::wiring::{self, SetupError};
use crate::platform::clock::Clock;
use crate::store::{Coordination, JoinError};
use crate::store::{DeliveryRow, NewDelivery, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImmediateError {
    /// No usable sender (credentials, project id) or client.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// This process could not register as an instance.
    #[error(transparent)]
    Instance(#[from] JoinError),
    /// A delivery task ended abnormally.
    #[error("a delivery task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One finished delivery of [`deliver_now`].
pub(crate) struct Delivered {
    pub id: i64,
    pub target: Target,
    pub outcome: Outcome,
    pub row: Option<DeliveryRow>,
}

/// What [`deliver_now`] sends, and for a re-send where it comes from.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    pub text: String,
    /// A countdown rendered for the request's own time (a re-sent warning).
    pub countdown: Option<crate::domain::template::Countdown>,
    /// The delivery this re-sends.
    pub parent_id: Option<i64>,
    /// No attempt after this (a re-send keeps its original's deadline); without it, or when
    /// later, now + `retry.max_elapsed`.
    pub deadline: Option<chrono::DateTime<chrono::Utc>>,
}

/// `text` to each of `targets` now, through the daemon's path: claimed (as this registered
/// instance, so a starting daemon leaves the rows alone), attempted, retried, recorded.
/// Ctrl-C leaves unfinished rows pending for the daemon. Used by `send` and by
/// `maintenance cancel --notice`.
pub(crate) async fn deliver_now(
    config: &Config,
    (schedule_id, workspace): (ScheduleId, WorkspaceName),
    targets: &[Target],
    outgoing: Outgoing,
) -> Result<Vec<Delivered>, ImmediateError> {
    let routes = wiring::build_route(config, &workspace, &wiring::process_env)?;
    let now = Clock::system().now();
    let mut deadline = crate::domain::time_math::plus(now, config.retry.max_elapsed);
    if let Some(original) = outgoing.deadline {
        deadline = deadline.min(original);
    }
    let batch: Vec<NewDelivery> = targets
        .iter()
        .map(|target| NewDelivery {
            parent_id: outgoing.parent_id,
            countdown: outgoing.countdown.clone(),
            ..NewDelivery::new(
                (schedule_id.clone(), workspace.clone()),
                target.clone(),
                (now, deadline),
                outgoing.text.clone(),
            )
        })
        .collect();
    deliver_batch(config, (schedule_id, workspace), batch, (routes, now)).await
}

/// `spec`'s message now, to its audience listed first (retried until the deadline; a listing
/// that fails ends the audience's row failed, sending nothing to a guess), resolved and
/// recorded as a scheduled occurrence is. For `send` with selectors.
pub(crate) async fn deliver_to_audience(
    config: &Config,
    spec: &ScheduleSpec,
) -> Result<Vec<Delivered>, ImmediateError> {
    let (routes, listed) = list_audience(config, spec).await?;
    let now = Clock::system().now();
    let batch = resolved_deliveries(
        spec,
        now,
        (config.retry.max_elapsed, config.jobs.desktop_batch),
        listed,
        config.targets.max_audience,
    );
    let id = (spec.record_as.clone(), spec.workspace.clone());
    deliver_batch(config, id, batch, (routes, now)).await
}

/// Lists `spec`'s audience now (each of its queries, retried until `retry.max_elapsed` from
/// now): the answers, or why they could not be had. Sends nothing. For `send` with selectors
/// and the `audience` command.
pub(crate) async fn list_audience(
    config: &Config,
    spec: &ScheduleSpec,
) -> Result<
    (
        crate::engine::routes::Routes,
        Result<Vec<Arc<Vec<Desktop>>>, String>,
    ),
    ImmediateError,
> {
    let routes = wiring::build_route(config, &spec.workspace, &wiring::process_env)?;
    let clock = Clock::system();
    let deadline = crate::domain::time_math::plus(clock.now(), config.retry.max_elapsed);
    let route = routes.get(spec.workspace.as_str());
    let lister = route.map_or(Err("no such workspace"), |r| r.lister());
    let stop = tokio_util::sync::CancellationToken::new();
    let mut listed = Vec::new();
    for query in spec.desktop_queries() {
        match list_until(lister, &query, (&config.retry, &clock, &stop), &|| deadline).await {
            Ok(desktops) => listed.push(Arc::new(desktops)),
            Err(why) => return Ok((routes, Err(why))),
        }
    }
    Ok((routes, Ok(listed)))
}

/// Claims `batch` (due `now`) and carries each pending row to its end; the rows recorded at
/// once (a refused or empty audience) are returned as failed.
pub(crate) async fn deliver_batch(
    config: &Config,
    (schedule_id, workspace): (ScheduleId, WorkspaceName),
    batch: Vec<NewDelivery>,
    (routes, now): (crate::engine::routes::Routes, chrono::DateTime<chrono::Utc>),
) -> Result<Vec<Delivered>, ImmediateError> {
    let routes = Arc::new(routes);
    let clock = Clock::system();
    let (store, membership) = open_claiming_store(config).await?;
    let mut batch = batch;
    let planned = crate::store::planned_recipients(&mut batch);
    let claimed = store.claim_deliveries(&batch, &[], now).await?;
    store.record_planned_recipients(&planned, now).await?;
    let mut recorded = Vec::new();
    for new in batch.iter().filter(|n| n.status != Status::Pending) {
        let key = (new.schedule_id.as_str(), new.workspace.as_str());
        if let Some(row) = store
            .delivery_at(key, &new.target.key(), new.due_at)
            .await?
        {
            recorded.push(Delivered {
                id: row.id,
                target: new.target.clone(),
                outcome: Outcome::Failed {
                    reason: new.error_msg.clone().unwrap_or_default(),
                },
                row: Some(row),
            });
        }
    }
    let deliverer = Arc::new(wiring::build_deliverer(
        config,
        store.clone(),
        routes,
        clock,
    ));
    let shutdown = Shutdown::default();
    let stopper = shutdown.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stopper.stop.cancel();
            stopper.abort.cancel();
        }
    });
    let tally = Arc::new(OccurrenceTally::new(
        (schedule_id.clone(), workspace.clone()),
        now,
        claimed.len(),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for delivery in claimed {
        let (deliverer, shutdown) = (Arc::clone(&deliverer), shutdown.clone());
        let tally = Arc::clone(&tally);
        tasks.spawn(async move {
            let (id, target) = (delivery.id, delivery.target.clone());
            let outcome = deliverer.deliver(delivery, &shutdown).await;
            tally.record(&outcome);
            (id, target, outcome)
        });
    }
    let mut done = recorded;
    while let Some(joined) = tasks.join_next().await {
        let (id, target, outcome) = joined?;
        let outcome = outcome?;
        let row = store.delivery(id).await.ok().flatten();
        done.push(Delivered {
            id,
            target,
            outcome,
            row,
        });
    }
    ctrl_c.abort();
    membership.leave(&store).await;
    store.close().await;
    Ok(done)
}

/// `maintenance cancel` of a window under way with `maintenance_mode`: its desktops out of
/// maintenance mode now, through the switcher's own rows (a daemon doing the same at the same
/// moment writes the same keys, so each switch-off happens once).
pub(crate) async fn switch_off_now(
    config: &Config,
    window: &crate::domain::maintenance::WindowSpec,
) -> Result<Vec<Delivered>, ImmediateError> {
    let store = wiring::open_store(config).await?;
    let ons: Vec<_> = store
        .switch_ons_to_undo()
        .await?
        .into_iter()
        .filter(|on| on.window == window.id)
        .collect();
    let cancellations = store.cancellations().await?;
    store.close().await;
    let now = Clock::system().now();
    let batch = crate::engine::maintenance_mode::switch_off_rows(&ons, &cancellations, now);
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let routes = wiring::build_route(config, &window.workspace, &wiring::process_env)?;
    let id = (window.id.clone(), window.workspace.clone());
    deliver_batch(config, id, batch, (routes, now)).await
}

/// Opens the database for a process that claims deliveries (`send`, a cancel notice): it
/// registers as an instance, so a daemon starting meanwhile leaves its rows alone. Keep the
/// returned [`Coordination`] until the deliveries end.
async fn open_claiming_store(config: &Config) -> Result<(Store, Coordination), ImmediateError> {
    let store = wiring::open_store(config).await?;
    let membership = membership::join(config, &store, crate::store::Role::Command).await?;
    Ok((membership.claiming(store), membership))
}
