//! This process as one of the instances sharing the store, and taking over the deliveries
//! of instances that are gone.
//!
//! - SQLite (one host): a lock file next to the database that the kernel releases when the
//!   process dies (`platform::instance`); an owner that holds it is alive.
//! - PostgreSQL (several hosts): a row in `instances` with a lease, renewed by a heartbeat
//!   every third of `daemon.instance_lease`. Deliveries of an owner whose lease ran out more
//!   than `workspace.request_timeout` ago are taken over with a compare-and-set.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::domain::Status;
use crate::platform::clock::Clock;
use crate::platform::instance::{self, Instance};
use crate::store::{Claimed, Database, LeaseGuard, Store, StoreError, format_time};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// The instance lock file next to the SQLite database could not be made.
    #[error("cannot register this instance next to the database: {0}")]
    File(#[from] std::io::Error),
    /// The instance row could not be written.
    #[error("cannot register this instance in the database: {0}")]
    Lease(#[from] StoreError),
}

/// This process's registration; leave it with [`Membership::leave`] (dropping it stops the
/// heartbeat, and the lease then runs out on its own).
#[derive(Debug)]
pub enum Membership {
    File {
        instance: Instance,
        database: PathBuf,
    },
    Lease {
        id: String,
        guard: Arc<LeaseGuard>,
        /// How long after the owner's lease ends its deliveries may be taken over.
        grace: Duration,
        heartbeat: CancellationToken,
    },
}

impl Membership {
    /// Registers this process as an instance of the store `config` names.
    pub async fn join(config: &Config, store: &Store) -> Result<Membership, MembershipError> {
        match &config.daemon.database {
            Database::Sqlite(path) => Ok(Membership::File {
                instance: Instance::register(path)?,
                database: path.clone(),
            }),
            Database::Postgres(_) => {
                let id = instance::new_id();
                let lease = config.daemon.instance_lease;
                let host = instance::host_name();
                let guard = LeaseGuard::new(lease);
                let sent = std::time::Instant::now();
                store.renew_lease(&id, &host, lease).await?;
                guard.renewed(sent);
                let heartbeat = CancellationToken::new();
                tokio::spawn(beat(
                    store.clone(),
                    (id.clone(), host),
                    Arc::clone(&guard),
                    heartbeat.clone(),
                ));
                Ok(Membership::Lease {
                    id,
                    guard,
                    grace: config.workspace.request_timeout + Duration::from_secs(1),
                    heartbeat,
                })
            }
        }
    }

    /// `store`, claiming in this instance's name (and knowing its lease).
    pub fn claiming(&self, store: Store) -> Store {
        match self {
            Membership::File { instance, .. } => store.owned_by(instance.id()),
            Membership::Lease { id, guard, .. } => store.owned_by(id).with_lease(Arc::clone(guard)),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Membership::File { instance, .. } => instance.id(),
            Membership::Lease { id, .. } => id,
        }
    }

    /// How often orphaned deliveries are looked for while running; None: only at start
    /// (on one host, an owner that dies is found by the next start of the service).
    pub fn takeover_interval(&self) -> Option<Duration> {
        match self {
            Membership::File { .. } => None,
            Membership::Lease { guard, .. } => Some(guard.lease() / 3),
        }
    }

    /// Pending deliveries whose owner is gone (or that this process owns but no longer
    /// carries: `carrying` says which it still does).
    async fn orphans(
        &self,
        store: &Store,
        carrying: &(dyn Fn(i64) -> bool + Sync),
    ) -> Result<Vec<Claimed>, StoreError> {
        match self {
            Membership::File { database, .. } => Ok(store
                .pending_deliveries()
                .await?
                .into_iter()
                .filter(|d| {
                    !d.owner
                        .as_deref()
                        .is_some_and(|id| Instance::is_alive(database, id))
                })
                .collect()),
            Membership::Lease { id, grace, .. } => Ok(store
                .orphaned_deliveries(*grace)
                .await?
                .into_iter()
                .filter(|d| d.owner.as_deref() != Some(id.as_str()) || !carrying(d.id))
                .collect()),
        }
    }

    /// A clean stop: the heartbeat ends and the lease row goes, so what this instance leaves
    /// pending is taken over at once rather than after its lease.
    pub async fn leave(self, store: &Store) {
        if let Membership::Lease { id, heartbeat, .. } = &self {
            heartbeat.cancel();
            if let Err(err) = store.release_lease(id).await {
                tracing::warn!(error = %err, "cannot remove this instance's lease row; it runs out on its own");
            }
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Membership::Lease { heartbeat, .. } = self {
            heartbeat.cancel();
        }
    }
}

/// Renews the lease every third of its length until `stop`.
async fn beat(
    store: Store,
    (id, host): (String, String),
    guard: Arc<LeaseGuard>,
    stop: CancellationToken,
) {
    let lease = guard.lease();
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let sent = std::time::Instant::now();
        match store.renew_lease(&id, &host, lease).await {
            Ok(true) => guard.renewed(sent),
            Ok(false) => {
                guard.lapsed();
                tracing::error!(
                instance = %id,
                "this instance's lease had run out (paused, or cut off from the database); other instances may have taken over its deliveries, which it no longer sends"
                );
            }
            Err(err) => tracing::error!(
                instance = %id,
                error = %err,
                "cannot renew this instance's lease; nothing is sent while the database cannot be reached"
            ),
        }
    }
}

/// Takes over the pending deliveries of instances that are gone (at start: also this host's
/// earlier run): each is adopted with a compare-and-set on its owner, so of two instances
/// adopting the same row exactly one gets it. Returns those to resume (attempt numbering
/// continues); closes the others:
/// - never attempted and later than its schedule's misfire grace (from `graces`, by
///   `schedule_id`): `missed`, like any late fire, not sent late;
/// - past its deadline: `failed`, with the reason.
pub async fn take_over(
    membership: &Membership,
    store: &Store,
    (graces, carrying): (&HashMap<String, Duration>, &(dyn Fn(i64) -> bool + Sync)),
    clock: Clock,
) -> Result<Vec<Claimed>, StoreError> {
    let now = clock.now();
    let mut resumable = Vec::new();
    for delivery in membership.orphans(store, carrying).await? {
        let owner = delivery.owner.as_deref();
        if !store.adopt_delivery(delivery.id, owner).await? {
            tracing::debug!(
                delivery_id = delivery.id,
                "pending delivery was taken over by another process first"
            );
            continue;
        }
        let grace = graces
            .get(delivery.schedule_id.as_str())
            .map(|g| crate::domain::time_math::delta(*g));
        if let Some(grace) = grace.filter(|g| delivery.attempts == 0 && now - delivery.due_at > *g)
        {
            let reason = format!(
                "claimed, but its instance stopped before sending it; it was taken over {} after the due time, past misfire_grace {}; not sent",
                humantime::format_duration((now - delivery.due_at).to_std().unwrap_or_default()),
                humantime::format_duration(grace.to_std().unwrap_or_default())
            );
            store
                .finish_delivery(delivery.id, Status::Missed, Some(&reason), now)
                .await?;
            tracing::error!(delivery_id = delivery.id, schedule_id = %delivery.schedule_id, target = %delivery.target.key(), due_at = %format_time(delivery.due_at), status = "missed", "{reason}");
            continue;
        }
        if delivery.deadline_at <= now {
            let reason = format!(
                "its instance stopped after {} attempt(s) and the deadline {} passed before another took it over",
                delivery.attempts,
                format_time(delivery.deadline_at)
            );
            store
                .finish_delivery(delivery.id, Status::Failed, Some(&reason), now)
                .await?;
            tracing::error!(delivery_id = delivery.id, schedule_id = %delivery.schedule_id, target = %delivery.target.key(), due_at = %format_time(delivery.due_at), status = "failed", "{reason}");
            continue;
        }
        tracing::info!(delivery_id = delivery.id, schedule_id = %delivery.schedule_id, target = %delivery.target.key(), attempts = delivery.attempts, previous_owner = owner.unwrap_or(""), "resuming a pending delivery");
        resumable.push(delivery);
    }
    Ok(resumable)
}
