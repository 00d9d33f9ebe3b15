//! Resolving audiences ahead of time: ListDesktops for each distinct (workspace, query), started
//! `[targets] resolve_ahead` before the occurrences that need it, retried with the retry policy
//! while it fails, and kept for the claim. Identical queries due together are listed once; a
//! listing older than `[targets] max_age` at a due time is done again first. The scheduler
//! never waits on HTTP: it asks [`Audiences::ready`] and, while the answer is `Waiting`, holds
//! that one occurrence back until told ([`Audiences::changed`]).

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::TargetsConfig;
use crate::domain::WorkspaceName;
use crate::domain::audience::{Desktop, DesktopQuery};
use crate::domain::retry::RetryPolicy;
use crate::engine::routes::Routes;
use crate::platform::clock::Clock;
use crate::workspace::WorkspaceClient;

type Key = (WorkspaceName, DesktopQuery);

#[derive(Debug)]
struct Entry {
    /// When the last successful listing ended.
    listed_at: Option<DateTime<Utc>>,
    /// The last answer: the desktops, or why listing failed.
    outcome: Option<Result<Arc<Vec<Desktop>>, String>>,
    running: bool,
    /// Retries go on until then (the latest deadline of the occurrences waiting for it).
    until: DateTime<Utc>,
}

/// What a claim can do with an occurrence's queries now.
#[derive(Debug)]
pub(crate) enum Ready {
    /// Every query listed recently enough: the answers, in query order.
    Listed(Vec<Arc<Vec<Desktop>>>),
    /// A query could not be listed by the occurrence's deadline: why.
    Failed(String),
    /// Still listing (or retrying): hold the occurrence back.
    Waiting,
}

pub(crate) struct Audiences {
    routes: Arc<Routes>,
    retry: RetryPolicy,
    clock: Clock,
    settings: TargetsConfig,
    entries: Mutex<HashMap<Key, Entry>>,
    /// Told whenever a listing ends (with desktops or for good with an error).
    changed: Arc<Notify>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Audiences {
    pub(crate) fn new(
        routes: Arc<Routes>,
        retry: RetryPolicy,
        clock: Clock,
        settings: TargetsConfig,
        (tracker, stop): (TaskTracker, CancellationToken),
    ) -> Self {
        Self {
            routes,
            retry,
            clock,
            settings,
            entries: Mutex::new(HashMap::new()),
            changed: Arc::new(Notify::new()),
            tracker,
            stop,
        }
    }

    pub(crate) fn settings(&self) -> TargetsConfig {
        self.settings
    }

    /// Notified when a listing ends; the scheduler then looks at what it held back.
    pub(crate) fn changed(&self) -> Arc<Notify> {
        Arc::clone(&self.changed)
    }

    /// Where an occurrence due at `due` (giving up at `deadline`) stands with `queries`.
    pub(crate) fn ready(
        &self,
        workspace: &WorkspaceName,
        queries: &[DesktopQuery],
        due: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Ready {
        let fresh_from = due - delta(self.settings.max_age);
        let entries = self.entries.lock().expect("not poisoned");
        let mut listed = Vec::with_capacity(queries.len());
        for query in queries {
            let Some(entry) = entries.get(&(workspace.clone(), query.clone())) else {
                return Ready::Waiting;
            };
            match &entry.outcome {
                Some(Ok(desktops)) if entry.listed_at.is_some_and(|at| at >= fresh_from) => {
                    listed.push(Arc::clone(desktops));
                }
                Some(Err(why)) if !entry.running && entry.until >= deadline => {
                    return Ready::Failed(why.clone());
                }
                _ => return Ready::Waiting,
            }
        }
        Ready::Listed(listed)
    }

    /// Makes sure each query is listed for an occurrence due at `due`: starts a listing unless
    /// one is running (whose retries are then extended to `until`) or a recent enough answer
    /// is there.
    pub(crate) fn request(
        self: &Arc<Self>,
        workspace: &WorkspaceName,
        queries: &[DesktopQuery],
        due: DateTime<Utc>,
        until: DateTime<Utc>,
    ) {
        let now = self.clock.now();
        let fresh_from = due - delta(self.settings.max_age);
        let mut entries = self.entries.lock().expect("not poisoned");
        // Answers nobody can use any more are dropped (they may hold thousands of desktops).
        let keep_from = now - delta(self.settings.max_age) - delta(self.settings.resolve_ahead);
        entries.retain(|_, e| e.running || e.listed_at.max(Some(e.until)) >= Some(keep_from));
        for query in queries {
            let key = (workspace.clone(), query.clone());
            let entry = entries.entry(key.clone()).or_insert(Entry {
                listed_at: None,
                outcome: None,
                running: false,
                until,
            });
            if entry.running {
                entry.until = entry.until.max(until);
                continue;
            }
            let fresh = matches!(entry.outcome, Some(Ok(_)))
                && entry.listed_at.is_some_and(|at| at >= fresh_from);
            let gave_up_for_this = matches!(entry.outcome, Some(Err(_))) && entry.until >= until;
            if fresh || gave_up_for_this {
                continue;
            }
            entry.running = true;
            entry.until = until;
            let this = Arc::clone(self);
            self.tracker.spawn(async move { this.list(key).await });
        }
    }

    /// Lists one query (retrying while it fails and its `until` is ahead), then records it.
    async fn list(self: Arc<Self>, key: Key) {
        let until = || {
            let entries = self.entries.lock().expect("not poisoned");
            entries
                .get(&key)
                .map_or(DateTime::<Utc>::MIN_UTC, |e| e.until)
        };
        let lister = self.routes.get(key.0.as_str()).map(|r| r.lister());
        let lister = lister.unwrap_or(Err("no such workspace"));
        let result = list_until(
            lister,
            &key.1,
            (&self.retry, &self.clock, &self.stop),
            &until,
        )
        .await;
        let now = self.clock.now();
        let mut entries = self.entries.lock().expect("not poisoned");
        if let Some(entry) = entries.get_mut(&key) {
            entry.running = false;
            match result {
                Ok(desktops) => {
                    entry.outcome = Some(Ok(Arc::new(desktops)));
                    entry.listed_at = Some(now);
                }
                Err(why) => {
                    tracing::error!(workspace = %key.0, "cannot resolve an audience: {why}; giving up");
                    entry.outcome = Some(Err(why));
                    entry.until = entry.until.max(now);
                }
            }
        }
        drop(entries);
        self.changed.notify_one();
    }
}

/// Every desktop of `query`, through `lister`, retried with the retry policy while it fails in
/// a way worth retrying and the next try would start before `until()` (which may move later
/// while it runs). The error names the attempt and the API's answer.
pub(crate) async fn list_until(
    lister: Result<&Arc<WorkspaceClient>, &str>,
    query: &DesktopQuery,
    (retry, clock, stop): (&RetryPolicy, &Clock, &CancellationToken),
    until: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> Result<Vec<Desktop>, String> {
    let client = lister.map_err(str::to_owned)?;
    let mut backoff = retry.backoff();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let started = std::time::Instant::now();
        let err = match client.list_desktops(query).await {
            Ok(desktops) => {
                tracing::debug!(
                    desktops = desktops.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "listed desktops"
                );
                return Ok(desktops);
            }
            Err(err) => err,
        };
        let why = format!("ListDesktops failed (attempt {attempt}): {err}");
        let delay = backoff.next().unwrap_or(retry.max_delay);
        if !err.is_retryable() || clock.now() + delta(delay) >= until() {
            return Err(why);
        }
        tracing::warn!(
            retry_in_ms = delay.as_millis() as u64,
            "cannot resolve an audience yet: {why}"
        );
        tokio::select! {
            () = stop.cancelled() => return Err(format!("{why}; stopped before trying again")),
            () = tokio::time::sleep(delay) => {}
        }
    }
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}
