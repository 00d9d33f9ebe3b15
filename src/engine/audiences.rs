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

    /// Lists one query, retrying with the retry policy while it fails and time is left.
    async fn list(self: Arc<Self>, key: Key) {
        let mut backoff = self.retry.backoff();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let started = std::time::Instant::now();
            let result = match self.routes.get(key.0.as_str()).map(|r| r.lister()) {
                Some(Ok(client)) => client
                    .list_desktops(&key.1)
                    .await
                    .map_err(|e| (e.is_retryable(), e.to_string())),
                Some(Err(why)) => Err((false, why.to_owned())),
                None => Err((false, format!("no workspace named {:?}", key.0.as_str()))),
            };
            let now = self.clock.now();
            let Some(delay) = self.record(&key, result, now, attempt, &mut backoff, started) else {
                self.changed.notify_one();
                return;
            };
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Records how a listing attempt ended; Some(delay) when it is to be tried again.
    fn record(
        &self,
        key: &Key,
        result: Result<Vec<Desktop>, (bool, String)>,
        now: DateTime<Utc>,
        attempt: u32,
        backoff: &mut impl Iterator<Item = std::time::Duration>,
        started: std::time::Instant,
    ) -> Option<std::time::Duration> {
        let mut entries = self.entries.lock().expect("not poisoned");
        let entry = entries.get_mut(key)?;
        match result {
            Ok(desktops) => {
                tracing::debug!(workspace = %key.0, desktops = desktops.len(), ms = started.elapsed().as_millis() as u64, "listed desktops");
                entry.outcome = Some(Ok(Arc::new(desktops)));
                entry.listed_at = Some(now);
                entry.running = false;
                None
            }
            Err((retryable, why)) => {
                let why = format!("ListDesktops failed (attempt {attempt}): {why}");
                let delay = backoff.next().unwrap_or(self.retry.max_delay);
                let over = now + delta(delay) >= entry.until;
                entry.outcome = Some(Err(why.clone()));
                if !retryable || over {
                    tracing::error!(workspace = %key.0, "cannot resolve an audience: {why}; giving up");
                    entry.running = false;
                    entry.until = entry.until.max(now);
                    return None;
                }
                tracing::warn!(workspace = %key.0, retry_in_ms = delay.as_millis() as u64, "cannot resolve an audience yet: {why}");
                Some(delay)
            }
        }
    }
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}
