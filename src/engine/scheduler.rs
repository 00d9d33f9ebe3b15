//! Over 400 lines on purpose: planning a claim (catch-up, cancellations, skips, audiences) and
//! the heap that feeds it are one piece of state; the clock watch, the tallies, the starter,
//! the audience listings (`listings.rs`) and the rows an occurrence writes
//! (`occurrence_rows.rs`) live apart.
//! The timer heap: next-fire instants of every schedule, a sleep until the earliest, and the
//! claim of everything due. It never waits for HTTP: claimed deliveries run as tracked tasks.
//!
//! Each wake handles every schedule due by the wall clock in one database transaction (a
//! notice to 500 pools is one fsync, not 500). Waking late (stopped process, suspended
//! machine, clock jump) goes through the same misfire rules as a restart: see
//! `schedule::catch_up`.

use chrono::{DateTime, TimeDelta, Utc};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::clock_watch::{CLOCK_CHECK, ClockWatch, report_clock_step};
use crate::domain::ScheduleId;
use crate::domain::Status;
use crate::domain::schedule::{ScheduleSpec, SharedSpec, catch_up};
use crate::engine::audiences::Audiences;
use crate::engine::delivery::Deliverer;
use crate::engine::health::Health;
use crate::engine::listings::{Heard, Listings};
use crate::engine::occurrence_rows::{deliveries, missed_note, resolved_deliveries};
use crate::engine::shutdown::Shutdown;
use crate::engine::starter::Starter;
use crate::platform::clock::Clock;
use crate::platform::systemd;
use crate::store::{
    Claimed, PlannedRecipients, Store, StoreError, format_time, planned_recipients,
};

/// A new schedule set, and who to tell once it is applied.
pub(crate) struct Update {
    pub specs: Vec<SharedSpec>,
    pub applied: oneshot::Sender<()>,
}

/// Deliveries are claimed (committed `pending`) this long before they are due, and their
/// tasks wait for the due instant: the claim's fsync is then not part of the lateness. A row
/// claimed early that a crash interrupts is resumed at start, still no earlier than due.
pub(crate) const CLAIM_LEAD: Duration = Duration::from_millis(250);

/// `[jobs] desktop_batch` when not configured: no maximum is documented, 100 is cautious.
const DEFAULT_DESKTOP_BATCH: usize = 100;

/// After a failed claim (database unusable), wait this long before trying again.
const CLAIM_RETRY: Duration = Duration::from_secs(1);

struct Slot {
    spec: SharedSpec,
    anchor: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
}

pub(crate) struct Scheduler {
    store: Store,
    deliverer: Arc<Deliverer>,
    clock: Clock,
    shutdown: Shutdown,
    slots: HashMap<ScheduleId, Slot>,
    heap: BinaryHeap<Reverse<(DateTime<Utc>, ScheduleId)>>,
    /// Desktop ids per delivery (`[jobs] desktop_batch`).
    desktop_batch: usize,
    /// Told on every turn of the loop, for `/healthz`.
    health: Option<Arc<Health>>,
    /// Next-fire gauges are kept only when metrics are served (`daemon.listen`).
    publish_metrics: bool,
    /// "3 schedules, 1 maintenance window", counted when the set changes (not on every fire:
    /// counting walks every slot).
    counts: String,
    /// Starts the claimed deliveries (shared with re-sends and takeovers).
    starter: Starter,
    /// Lists the audiences of schedules with selectors; None: such schedules fail to resolve.
    listings: Listings,
    /// Writes the recipients planned at a claim, beside the sends.
    tracker: TaskTracker,
}

impl Scheduler {
    pub(crate) fn new(
        store: Store,
        deliverer: Arc<Deliverer>,
        clock: Clock,
        tracker: TaskTracker,
        shutdown: Shutdown,
        audiences: Arc<Audiences>,
    ) -> Self {
        Self {
            listings: Listings::new(audiences, deliverer.policy().max_elapsed),
            starter: Starter::new(Arc::clone(&deliverer), tracker.clone(), shutdown.clone()),
            tracker,
            store,
            deliverer,
            clock,
            shutdown,
            slots: HashMap::new(),
            heap: BinaryHeap::new(),
            desktop_batch: DEFAULT_DESKTOP_BATCH,
            health: None,
            publish_metrics: false,
            counts: String::new(),
        }
    }

    /// Reports each turn of the loop to `health` (a wedged loop makes `/healthz` fail).
    pub(crate) fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = Some(health);
        self
    }

    /// Keeps the next-fire gauges of `/metrics` current.
    pub(crate) fn with_metrics(mut self, on: bool) -> Self {
        self.publish_metrics = on;
        self
    }

    /// Sends to individual desktops in deliveries of at most `ids` desktops each.
    pub(crate) fn with_desktop_batch(mut self, ids: usize) -> Self {
        self.desktop_batch = ids.max(1);
        self
    }

    /// Replaces the schedule set. Unchanged schedules keep their next fire time; new and
    /// changed ones start from their stored progress (see `ScheduleSpec::first_to_consider`).
    pub(crate) async fn apply(&mut self, specs: Vec<SharedSpec>) -> Result<(), StoreError> {
        let now = self.clock.now();
        let ids: Vec<ScheduleId> = specs.iter().map(|s| s.id.clone()).collect();
        self.store.ensure_states(&ids, whole_second(now)).await?;
        let states = self.store.schedule_states().await?;
        let mut slots = HashMap::with_capacity(specs.len());
        let mut last_fires: HashMap<ScheduleId, DateTime<Utc>> = HashMap::new();
        // Paused and disabled schedules keep a slot without a next time, so that resuming
        // one counts as a change (fire from now on) rather than as downtime to catch up on.
        for spec in specs {
            let state = states.get(spec.id.as_str());
            if let Some(last) = state.and_then(|s| s.last_due_at) {
                let entry = last_fires.entry(spec.record_as.clone()).or_insert(last);
                *entry = (*entry).max(last);
            }
            let anchor = state.map_or(whole_second(now), |s| s.anchor_at);
            let next = match self.slots.remove(&spec.id) {
                _ if !spec.enabled => None,
                Some(old) if old.spec == spec => old.next,
                Some(_) => {
                    // Changed: no catch-up for the old definition; go on from now.
                    let last = state
                        .and_then(|s| s.last_due_at)
                        .map_or(now, |l| l.max(now));
                    spec.first_to_consider(Some(last), anchor)
                }
                None => spec.first_to_consider(state.and_then(|s| s.last_due_at), anchor),
            };
            slots.insert(spec.id.clone(), Slot { spec, anchor, next });
        }
        let old = std::mem::replace(&mut self.slots, slots);
        self.counts = self.counts();
        if self.publish_metrics {
            // A removed schedule's gauge would otherwise keep its last, soon past, time.
            for slot in old.values() {
                crate::platform::metrics::next_fire(slot.spec.record_as.as_str(), None);
            }
            for slot in self.slots.values() {
                crate::platform::metrics::schedule_known(
                    slot.spec.record_as.as_str(),
                    slot.spec.workspace.as_str(),
                    slot.spec.needs_listing(),
                );
            }
            for (schedule, at) in &last_fires {
                crate::platform::metrics::last_fire(schedule.as_str(), *at);
            }
            self.publish_next_fires(None);
        }
        let gone: Vec<ScheduleId> = old.into_keys().collect();
        self.heap = self
            .slots
            .iter()
            .filter_map(|(id, slot)| slot.next.map(|t| Reverse((t, id.clone()))))
            .collect();
        {
            let (listings, slots) = (&mut self.listings, &self.slots);
            listings.reset(|id, first| slots.get(id).is_some_and(|s| s.next == Some(first)));
            for (id, slot) in slots {
                listings.plan(id, &slot.spec, slot.next);
            }
        }
        if !gone.is_empty()
            && let Err(err) = self.store.forget_states(&gone).await
        {
            tracing::warn!(error = %err, "cannot forget the progress of removed schedules");
        }
        Ok(())
    }

    /// "3 schedules, 1 maintenance window": what the enabled slots are recorded as, counted
    /// by what their content calls itself.
    fn counts(&self) -> String {
        let mut groups: HashMap<&'static str, HashSet<&ScheduleId>> = HashMap::new();
        for slot in self.slots.values().filter(|slot| slot.spec.enabled) {
            groups
                .entry(slot.spec.content.noun())
                .or_default()
                .insert(&slot.spec.record_as);
        }
        let count = |noun: &'static str| {
            let n = groups.get(noun).map_or(0, HashSet::len);
            format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
        };
        format!("{}, {}", count("schedule"), count("maintenance window"))
    }

    /// The next-fire gauges (a window: its earliest part) of every schedule, or of `only`.
    fn publish_next_fires(&self, only: Option<&HashSet<ScheduleId>>) {
        let mut earliest: HashMap<&str, Option<DateTime<Utc>>> = HashMap::new();
        let wanted = |slot: &&Slot| only.is_none_or(|ids| ids.contains(&slot.spec.record_as));
        for slot in self.slots.values().filter(wanted) {
            let entry = earliest.entry(slot.spec.record_as.as_str()).or_insert(None);
            if let Some(next) = slot.spec.first_uncancelled(slot.next, slot.anchor) {
                *entry = Some(entry.map_or(next, |e: DateTime<Utc>| e.min(next)));
            }
        }
        for (schedule, next) in earliest {
            crate::platform::metrics::next_fire(schedule, next);
        }
    }

    /// "3 schedules, 1 maintenance window; next <id> at <time>", for STATUS= and the logs.
    pub(crate) fn status_line(&self) -> String {
        match self.heap.peek() {
            Some(Reverse((t, id))) => {
                format!("{}; next: {id} at {}", self.counts, format_time(*t))
            }
            None => format!("{}; nothing to fire", self.counts),
        }
    }

    /// Runs until `shutdown.stop`. New schedule sets arrive on `updates`.
    pub(crate) async fn run(mut self, mut updates: mpsc::Receiver<Update>) {
        let watchdog = systemd::watchdog_interval();
        let mut next_ping = Instant::now();
        let mut clock_watch = ClockWatch::new(&self.clock);
        loop {
            if let Some(health) = &self.health {
                health.tick();
            }
            if let Some(step) = clock_watch.step(&self.clock) {
                let next = self.heap.peek().map(|Reverse((t, id))| (id.clone(), *t));
                report_clock_step(step, next);
            }
            if let Some(period) = watchdog.filter(|_| Instant::now() >= next_ping) {
                systemd::watchdog();
                next_ping = Instant::now() + period;
            }
            let wake = self.next_wake(watchdog.map(|_| next_ping));
            let listed = self.listings.changed();
            tokio::select! {
                biased;
                () = self.shutdown.stop.cancelled() => return,
                () = listed.notified() => {
                    if let Err(err) = self.fire_due().await {
                        tracing::error!(error = %err, "cannot claim due deliveries; retrying in 1s");
                        crate::engine::shutdown::sleep_unless_stopped(CLAIM_RETRY, &self.shutdown.stop).await;
                    }
                }
                update = updates.recv() => match update {
                    Some(Update { specs, applied }) => {
                        if let Err(err) = self.apply(specs).await {
                            tracing::error!(error = %err, "cannot apply the new schedules; keeping the old ones");
                        }
                        let _ = applied.send(());
                        systemd::status(&self.status_line());
                    }
                    None => return,
                },
                () = tokio::time::sleep_until(wake) => {
                    if let Err(err) = self.fire_due().await {
                        tracing::error!(error = %err, "cannot claim due deliveries; retrying in 1s");
                        crate::engine::shutdown::sleep_unless_stopped(CLAIM_RETRY, &self.shutdown.stop).await;
                    }
                }
            }
        }
    }

    /// The earliest of the next fire time, the next watchdog ping and the next clock check.
    fn next_wake(&self, ping: Option<Instant>) -> Instant {
        let idle = Instant::now() + CLOCK_CHECK;
        let now = self.clock.now();
        let fire = self.heap.peek().map_or(idle, |Reverse((due, _))| {
            let wait = (*due - now).to_std().unwrap_or(Duration::ZERO);
            // Bounded before adding, so a far-future due time cannot overflow an Instant.
            Instant::now() + wait.saturating_sub(CLAIM_LEAD).min(CLOCK_CHECK)
        });
        // Listings to start; held occurrences are looked at when a listing ends, and often.
        let list = self
            .listings
            .wait(now)
            .map_or(idle, |wait| Instant::now() + wait.min(CLOCK_CHECK));
        let wake = fire.min(list);
        ping.map_or(wake, |p| p.min(wake))
    }

    /// Claims everything due by the wall clock (within [`CLAIM_LEAD`]) in one transaction,
    /// then starts the deliveries. If the database fails, nothing was committed and the due
    /// entries go back on the heap to be tried again.
    pub(crate) async fn fire_due(&mut self) -> Result<(), StoreError> {
        let real_now = self.clock.now();
        let horizon = real_now + TimeDelta::from_std(CLAIM_LEAD).expect("small");
        let mut due = self.pop_due(horizon);
        let slots = &self.slots;
        self.listings.start_due(real_now, |id, due| {
            slots
                .get(id)
                .filter(|s| s.next == Some(due))
                .map(|s| &*s.spec)
        });
        due.extend(self.listings.held().cloned());
        if due.is_empty() {
            return Ok(());
        }
        match self.claim(&due, horizon, real_now).await {
            Ok((claimed, planned)) => {
                self.start_deliveries(claimed);
                if !planned.is_empty() {
                    // Written beside the sends, not before them (see `AudienceRecord`).
                    let store = self.store.clone();
                    self.tracker.spawn(async move {
                        if let Err(err) = store.record_planned_recipients(&planned, real_now).await {
                            tracing::error!(error = %err, "cannot record the desktops of resolved audiences");
                        }
                    });
                }
                systemd::status(&self.status_line());
                Ok(())
            }
            Err(err) => {
                for id in due {
                    if self.listings.is_held(&id) {
                        continue;
                    }
                    if let Some(t) = self.slots[&id].next {
                        self.heap.push(Reverse((t, id)));
                    }
                }
                Err(err)
            }
        }
    }

    /// Takes the heap entries due by `horizon` that are still current.
    fn pop_due(&mut self, horizon: DateTime<Utc>) -> Vec<ScheduleId> {
        let mut due = Vec::new();
        while let Some(Reverse((t, id))) = self.heap.peek() {
            if *t > horizon {
                break;
            }
            let (t, id) = (*t, id.clone());
            self.heap.pop();
            if self.slots.get(&id).is_some_and(|slot| slot.next == Some(t)) {
                due.push(id);
            }
        }
        due
    }

    /// Plans every due schedule (fire, missed, next), commits the claims and progress in one
    /// transaction, and only then moves the slots on.
    async fn claim(
        &mut self,
        due: &[ScheduleId],
        horizon: DateTime<Utc>,
        real_now: DateTime<Utc>,
    ) -> Result<(Vec<Claimed>, Vec<PlannedRecipients>), StoreError> {
        // A `maintenance cancel` may have committed since the last reload: read cancellations
        // afresh when something cancellable is due, so none slips out between poll and claim.
        let fresh = match due
            .iter()
            .any(|id| self.slots[id].spec.content.cancellable())
        {
            true => self.store.cancellations().await?,
            false => Default::default(),
        };
        let cancelled = |spec: &ScheduleSpec, t: DateTime<Utc>| {
            spec.content.is_cancelled(t)
                || spec.content.cancellation_key(t).is_some_and(|key| {
                    fresh
                        .get(spec.record_as.as_str())
                        .is_some_and(|c| c.all || c.starts.contains(&key))
                })
        };
        let limits = (self.deliverer.policy().max_elapsed, self.desktop_batch);
        let max_audience = self.listings.max_audience();
        let (mut batch, mut progress, mut nexts) = (Vec::new(), Vec::new(), Vec::new());
        for id in due {
            let slot = &self.slots[id];
            let spec = &slot.spec;
            let first = slot.next.expect("due slots have a next time");
            // An occurrence held back for its audience is planned as it was when first due.
            let planned_at = self.listings.planned_at(id);
            let (plan_now, plan_horizon) = match planned_at {
                Some(then) => (then, then + (horizon - real_now)),
                None => (real_now, horizon),
            };
            let plan = catch_up(spec, first, plan_horizon, plan_now, slot.anchor);
            let sent = |t| !cancelled(spec, t) && spec.content.skipped(t, slot.anchor).is_none();
            let heard = match self.listings.hear(spec, &plan.fire, &sent) {
                Heard::Hold => {
                    self.listings.hold(id, first, plan_now);
                    continue;
                }
                heard => {
                    self.listings.release(id);
                    heard
                }
            };
            if let Some(missed) = &plan.missed {
                let note = missed_note(missed, first, plan.fire.last().copied(), spec);
                // Users got a newer message: coalesced, said at warn; else nobody got these.
                let status = match missed
                    .coalesced(spec.catch_up, plan.fire.iter().any(|t| sent(*t)))
                {
                    true => {
                        tracing::warn!(schedule_id = %spec.record_as, due_at = %format_time(missed.due_at), skipped = missed.count, "coalesced: {note}");
                        Status::Coalesced
                    }
                    false => {
                        tracing::error!(schedule_id = %spec.record_as, due_at = %format_time(missed.due_at), skipped = missed.count, "missed: {note}");
                        Status::Missed
                    }
                };
                if !cancelled(spec, missed.due_at) {
                    batch.extend(deliveries(spec, missed.due_at, limits, status, Some(note)));
                }
                progress.push((id.clone(), missed.due_at));
            }
            for &fire in &plan.fire {
                if cancelled(spec, fire) {
                    tracing::info!(schedule_id = %spec.record_as, due_at = %format_time(fire), "skipped: cancelled");
                } else if let Some(why) = spec.content.skipped(fire, slot.anchor) {
                    tracing::info!(schedule_id = %spec.record_as, due_at = %format_time(fire), "skipped: {why}");
                } else if let Heard::Resolved(listed) = &heard {
                    batch.extend(resolved_deliveries(
                        spec,
                        fire,
                        limits,
                        listed.clone(),
                        max_audience,
                    ));
                } else {
                    batch.extend(deliveries(spec, fire, limits, Status::Pending, None));
                }
                progress.push((id.clone(), fire));
            }
            nexts.push((id.clone(), plan.next));
        }
        if batch.is_empty() && progress.is_empty() {
            // Everything due is held back for its audience.
            return Ok((Vec::new(), Vec::new()));
        }
        let planned = planned_recipients(&mut batch);
        let started = std::time::Instant::now();
        let claimed = self
            .store
            .claim_deliveries(&batch, &progress, real_now)
            .await?;
        // Rows recorded at the claim (missed; a refused, empty or unlisted audience) end here.
        for ended in batch.iter().filter(|d| d.status != Status::Pending) {
            crate::platform::metrics::delivery_ended(
                ended.schedule_id.as_str(),
                ended.workspace.as_str(),
                ended.status.as_str(),
            );
        }
        tracing::debug!(
            rows = claimed.len(),
            claim_ms = started.elapsed().as_millis() as u64,
            "claimed"
        );
        let mut moved = HashSet::new();
        for (id, next) in nexts {
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.next = next;
                moved.insert(slot.spec.record_as.clone());
                if let Some(t) = next {
                    self.heap.push(Reverse((t, id.clone())));
                }
                self.listings.plan(&id, &slot.spec, next);
            }
        }
        if self.publish_metrics {
            self.publish_next_fires(Some(&moved));
            for (id, due) in &progress {
                if let Some(slot) = self.slots.get(id) {
                    crate::platform::metrics::last_fire(slot.spec.record_as.as_str(), *due);
                }
            }
        }
        Ok((claimed, planned))
    }

    /// Runs each claimed delivery as a tracked task.
    pub(crate) fn start_deliveries(&self, claimed: Vec<Claimed>) {
        self.starter().start(claimed);
    }

    /// Starts deliveries with `starter`, so that everything this process carries is known
    /// in one place (re-sends and takeovers use the same one).
    pub(crate) fn with_starter(mut self, starter: Starter) -> Self {
        self.starter = starter;
        self
    }

    /// The handle that starts deliveries the way the scheduler does, for the deliveries taken
    /// over from other instances while the scheduler runs in its own task.
    pub(crate) fn starter(&self) -> Starter {
        self.starter.clone()
    }
}

fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(0)
}
