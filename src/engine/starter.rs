//! The registry of the deliveries this process carries, and the one way they are started: the
//! scheduler's claims, the deliveries taken over from lost instances and the automatic
//! re-sends all go through a [`Starter`], so "is this delivery carried here?" has one answer.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

use super::delivery::Deliverer;
use super::occurrence::OccurrenceTally;
use super::shutdown::Shutdown;
use crate::domain::ScheduleId;
use crate::store::Claimed;

/// Ids of the deliveries this process is carrying, shared by the scheduler and its starters.
pub(super) type Running = Arc<std::sync::Mutex<std::collections::HashSet<i64>>>;

/// Starts claimed deliveries as tracked tasks; cheap to clone.
#[derive(Clone)]
pub(crate) struct Starter {
    deliverer: Arc<Deliverer>,
    tracker: TaskTracker,
    shutdown: Shutdown,
    running: Running,
}

impl Starter {
    pub(crate) fn new(
        deliverer: Arc<Deliverer>,
        tracker: TaskTracker,
        shutdown: Shutdown,
    ) -> Starter {
        Starter {
            deliverer,
            tracker,
            shutdown,
            running: Running::default(),
        }
    }

    /// True while a task of this process carries delivery `id`.
    pub(crate) fn is_running(&self, id: i64) -> bool {
        self.running.lock().expect("not poisoned").contains(&id)
    }

    /// Runs each claimed delivery as a tracked task.
    /// Each occurrence (schedule and due time) gets one summary line when its deliveries end.
    pub(crate) fn start(&self, claimed: Vec<Claimed>) {
        let mut tallies: HashMap<(ScheduleId, DateTime<Utc>), Arc<OccurrenceTally>> =
            HashMap::new();
        for d in &claimed {
            let key = (d.schedule_id.clone(), d.due_at);
            let tally = tallies.entry(key).or_insert_with(|| {
                Arc::new(OccurrenceTally::new(
                    (d.schedule_id.clone(), d.workspace.clone()),
                    d.due_at,
                    0,
                ))
            });
            Arc::get_mut(tally).expect("not shared yet").add_one();
        }
        for delivery in claimed {
            let deliverer = Arc::clone(&self.deliverer);
            let shutdown = self.shutdown.clone();
            let tally = Arc::clone(&tallies[&(delivery.schedule_id.clone(), delivery.due_at)]);
            let running = Arc::clone(&self.running);
            running.lock().expect("not poisoned").insert(delivery.id);
            self.tracker.spawn(async move {
                let id = delivery.id;
                let outcome = deliverer.deliver(delivery, &shutdown).await;
                running.lock().expect("not poisoned").remove(&id);
                if let Err(err) = &outcome {
                    tracing::error!(error = %err, "cannot record a delivery; it stays pending, to be resumed (on PostgreSQL at the next heartbeat, on SQLite at the next start)");
                }
                tally.record(&outcome);
            });
        }
    }
}
