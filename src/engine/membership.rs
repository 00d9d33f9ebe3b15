//! Taking over the deliveries of instances that are gone: which orphans are resumed, which
//! are closed as missed or failed. How instances know of each other (a lock file on SQLite,
//! a lease on PostgreSQL) is the store's ([`Coordination`]); the grace before a lapsed
//! lease's deliveries are taken is one request timeout, so none is still in flight.

use std::collections::HashMap;
use std::time::Duration;

use crate::config::Config;
use crate::domain::Status;
use crate::platform::clock::Clock;
use crate::store::{Claimed, Coordination, JoinError, Role, Store, StoreError, format_time};

/// Registers this process as an instance sharing the store `config` names.
pub(crate) async fn join(
    config: &Config,
    store: &Store,
    role: Role,
) -> Result<Coordination, JoinError> {
    // The longest request of any workspace: none is still in flight when its rows are taken.
    let longest = config
        .workspaces
        .iter()
        .map(|w| w.request_timeout)
        .max()
        .unwrap_or_default();
    let grace = longest + Duration::from_secs(1);
    store.join(config.daemon.instance_lease, grace, role).await
}

/// Takes over the pending deliveries of instances that are gone (at start: also this host's
/// earlier run): each is adopted with a compare-and-set on its owner, so of two instances
/// adopting the same row exactly one gets it. Returns those to resume (attempt numbering
/// continues); closes the others:
/// - never attempted and later than its schedule's misfire grace (from `graces`, by
///   `schedule_id`): `missed`, like any late fire, not sent late;
/// - past its deadline: `failed`, with the reason.
pub(crate) async fn take_over(
    membership: &Coordination,
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
