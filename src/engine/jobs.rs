//! Following each accepted notification's job to its per-desktop result: ShowJob after
//! `jobs.first_poll`, then every `jobs.poll_interval` (slower while the job runs long), until a
//! final status or `jobs.give_up_after` (result `unknown`). The state lives in the database, so
//! a restart resumes every unfinished job; each poll is taken with a compare-and-set, so no job
//! is polled twice at once. Polls share the `max_in_flight` slots with sends.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::resend::ResendRunner;
use super::routes::Routes;
use super::shutdown::sleep_unless_stopped;
use crate::config::JobsConfig;
use crate::domain::job::{JobResult, Recipient, Word, next_poll, tally};
use crate::domain::time_math::plus;
use crate::platform::clock::Clock;
use crate::store::{JobEnd, JobToPoll, Store, StoreError};
use crate::workspace::{ApiError, WorkspaceClient};

/// A taken poll belongs to its taker this long; if its process dies, another takes it after.
const POLL_LEASE: TimeDelta = TimeDelta::minutes(2);

/// ListItaSubJobs page size (the API's maximum).
const PAGE: u32 = 1000;

/// How many due polls one look takes at most.
const BATCH: u32 = 200;

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// Still running: its status word and how many listed desktops are done, of how many.
    Running {
        status: String,
        done: u64,
        total: Option<u64>,
    },
    /// Following ended (a final status, or a reason to stop asking).
    Finished(JobEnd),
    /// The credentials may not read jobs (403): ended like `Finished`, but said once per
    /// process rather than once per delivery.
    Denied(JobEnd),
    /// No usable answer this time (throttled, server error, timeout); asked again later.
    Postponed(String),
}

pub struct JobFollower {
    store: Store,
    /// Each job is polled through its delivery's workspace: that one's client and slots.
    routes: Arc<Routes>,
    jobs: JobsConfig,
    clock: Clock,
    /// A 403 on a poll is logged once per process, not once per delivery in a flood.
    denial_logged: AtomicBool,
    /// In the daemon: automatic re-sends to the desktops that did not get it.
    resends: Option<ResendRunner>,
}

impl JobFollower {
    pub fn new(store: Store, routes: Arc<Routes>, jobs: JobsConfig, clock: Clock) -> Self {
        Self {
            store,
            routes,
            jobs,
            clock,
            denial_logged: AtomicBool::new(false),
            resends: None,
        }
    }

    /// Re-sends automatically where a delivery opted in (`resend_failed`).
    pub(crate) fn with_resends(mut self, runner: ResendRunner) -> Self {
        self.resends = Some(runner);
        self
    }

    /// Polls due jobs until `stop`. Looks at least once a second (other processes may start
    /// jobs too); polls run as tracked tasks, each holding one `max_in_flight` slot.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let tasks = TaskTracker::new();
        loop {
            let started = match self.start_due(&tasks).await {
                Ok(started) => started,
                Err(err) => {
                    tracing::error!(error = %err, "cannot read the jobs to follow; retrying in 1s");
                    0
                }
            };
            let wait = match self.store.next_job_poll().await {
                // A poll due but not started (taken by another process, or a row that cannot
                // be read) is looked at again in a second, not in a tight loop.
                Ok(Some(next)) if started > 0 || next > self.clock.now() => (next
                    - self.clock.now())
                .to_std()
                .unwrap_or_default()
                .min(Duration::from_secs(1)),
                _ => Duration::from_secs(1),
            };
            if !sleep_unless_stopped(wait.max(Duration::from_millis(20)), &stop).await {
                break;
            }
        }
        tasks.close();
        tasks.wait().await;
    }

    /// Starts the due polls this process takes; how many.
    async fn start_due(self: &Arc<Self>, tasks: &TaskTracker) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut started = 0;
        for job in self.store.due_job_polls(now, BATCH).await? {
            if !self.store.take_job_poll(&job, now + POLL_LEASE).await? {
                continue;
            }
            started += 1;
            let follower = Arc::clone(self);
            tasks.spawn(async move {
                if let Err(err) = follower.poll_and_record(&job).await {
                    tracing::error!(delivery_id = job.delivery_id, job_id = %job.job_id, error = %err, "cannot record a job poll; it is polled again after its lease");
                }
            });
        }
        Ok(started)
    }

    /// Follows one delivery's job until it ends (or stops being followed), polling it when
    /// due; `progress` hears every poll. Another process following the same job is fine: each
    /// poll is taken with a compare-and-set. Bounded by `give_up_after` after the 200.
    pub async fn follow_one(
        &self,
        delivery_id: i64,
        progress: impl Fn(&Polled),
    ) -> Result<(), StoreError> {
        loop {
            let Some(job) = self.store.job_to_poll(delivery_id).await? else {
                return Ok(());
            };
            let now = self.clock.now();
            if job.next_poll_at <= now && self.store.take_job_poll(&job, now + POLL_LEASE).await? {
                progress(&self.poll_and_record(&job).await?);
                continue;
            }
            let wait = (job.next_poll_at - now)
                .to_std()
                .unwrap_or_default()
                .clamp(Duration::from_millis(50), Duration::from_secs(1));
            tokio::time::sleep(wait).await;
        }
    }

    /// Polls a job this process has taken and records what it found.
    pub async fn poll_and_record(&self, job: &JobToPoll) -> Result<Polled, StoreError> {
        let polled = self.poll(job).await;
        let now = self.clock.now();
        let polls = job.polls + 1;
        let give_up = plus(job.accepted_at, self.jobs.give_up_after);
        match &polled {
            Polled::Finished(end) | Polled::Denied(end) => {
                self.store
                    .finish_job(job.delivery_id, end, polls, now)
                    .await?;
                // A denial was logged once for the process (see `failed_poll`).
                log_end(job, end, matches!(polled, Polled::Finished(_)));
                if let Some(runner) = &self.resends
                    && let Err(err) = runner
                        .after_job(job.delivery_id, &end.recipients, now)
                        .await
                {
                    // The job's result is recorded; only the automatic re-send is lost.
                    tracing::error!(delivery_id = job.delivery_id, error = %err, "cannot start the automatic re-send to the desktops that did not get it; `resend` sends it by hand");
                }
            }
            Polled::Running { status, .. } if now >= give_up => {
                self.give_up(job, Some(status.clone()), polls, now).await?;
            }
            Polled::Postponed(reason) if now >= give_up => {
                self.give_up(job, None, polls, now).await?;
                tracing::debug!(delivery_id = job.delivery_id, "last poll: {reason}");
            }
            Polled::Running { status, .. } => {
                let next = next_poll(now, self.jobs.poll_interval, polls).min(give_up);
                self.store
                    .record_job_poll(job.delivery_id, Some(status), polls, next)
                    .await?;
            }
            Polled::Postponed(reason) => {
                // A throttled poll also paused every request (see `workspace::Pacer`).
                let next = plus(now, self.jobs.poll_interval).min(give_up);
                tracing::info!(delivery_id = job.delivery_id, job_id = %job.job_id, "job poll not answered ({reason}); asking again later");
                self.store
                    .record_job_poll(job.delivery_id, None, polls, next)
                    .await?;
            }
        }
        Ok(polled)
    }

    async fn give_up(
        &self,
        job: &JobToPoll,
        status: Option<String>,
        polls: u32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let end = JobEnd {
            error: Some(format!(
                "no final status within jobs.give_up_after {} (last status {})",
                humantime::format_duration(self.jobs.give_up_after),
                status.as_deref().unwrap_or("unknown")
            )),
            status,
            result: JobResult::Unknown,
            tally: None,
            recipients: Vec::new(),
        };
        self.store
            .finish_job(job.delivery_id, &end, polls, now)
            .await?;
        log_end(job, &end, true);
        Ok(())
    }

    /// One ShowJob (and, for a final job that lists fewer desktops than it has, the pages of
    /// ListItaSubJobs), within one `max_in_flight` slot.
    async fn poll(&self, job: &JobToPoll) -> Polled {
        let Some((client, limiter)) = self
            .routes
            .get(&job.workspace)
            .and_then(|route| Some((route.client()?, &route.limiter)))
        else {
            // Not polled again: the workspace is gone from the config, or runs dry.
            return Polled::Finished(JobEnd {
                status: None,
                result: JobResult::Unknown,
                tally: None,
                error: Some(format!(
                    "workspace {:?} is not configured to call the API; the job is not followed",
                    job.workspace
                )),
                recipients: Vec::new(),
            });
        };
        let Ok(_permit) = limiter.acquire().await else {
            return Polled::Postponed("shutting down".to_owned());
        };
        let report = match client.show_job(&job.job_id).await {
            Ok(report) => report,
            Err(err) => return self.failed_poll(err),
        };
        let word = Word::of(&report.status);
        if word == Word::Running {
            let done = report
                .recipients
                .iter()
                .filter(|r| Word::of(&r.status) != Word::Running)
                .count() as u64;
            return Polled::Running {
                status: report.status,
                done,
                total: report.sub_jobs_total,
            };
        }
        let listed = report.recipients.len() as u64;
        let recipients = match report.sub_jobs_total {
            Some(total) if total > listed => {
                match self.all_sub_jobs(client, &job.job_id, total).await {
                    Ok(all) => all,
                    Err(err) => return self.failed_poll(err),
                }
            }
            _ => report.recipients,
        };
        Polled::Finished(JobEnd {
            tally: Some(tally(word, &recipients)),
            result: tally(word, &recipients).result,
            status: Some(report.status),
            error: None,
            recipients,
        })
    }

    /// Every desktop of a job, page by page.
    async fn all_sub_jobs(
        &self,
        client: &WorkspaceClient,
        job_id: &str,
        total: u64,
    ) -> Result<Vec<Recipient>, ApiError> {
        let mut all: Vec<Recipient> = Vec::with_capacity(total.min(100_000) as usize);
        let mut offset = 0u64;
        while offset < total {
            let page = client.list_sub_jobs(job_id, PAGE, offset).await?;
            if page.recipients.is_empty() {
                break;
            }
            offset += page.recipients.len() as u64;
            all.extend(page.recipients);
        }
        Ok(all)
    }

    fn failed_poll(&self, err: ApiError) -> Polled {
        let ended = |error: String| {
            Polled::Finished(JobEnd {
                status: None,
                result: JobResult::Unknown,
                tally: None,
                error: Some(error),
                recipients: Vec::new(),
            })
        };
        match err.http_status() {
            Some(404) => ended(format!(
                "the job was not found (HTTP 404): {}",
                err.message()
            )),
            Some(403) => {
                let message = format!(
                    "the credentials may send notifications but not read their jobs (HTTP 403 on ShowJob): grant the Workspace permission to view jobs, or set [jobs] enabled = false; {}",
                    err.message()
                );
                if !self.denial_logged.swap(true, Ordering::Relaxed) {
                    tracing::error!("{message}");
                }
                match ended(message) {
                    Polled::Finished(end) => Polled::Denied(end),
                    other => other,
                }
            }
            _ if err.is_retryable() => Polled::Postponed(err.to_string()),
            _ => ended(format!("job poll failed: {err}")),
        }
    }
}

/// Counts a job's end and, if `say`, logs it (ok at info, anything else at warn).
fn log_end(job: &JobToPoll, end: &JobEnd, say: bool) {
    crate::platform::metrics::job_ended(
        (&job.schedule_id, &job.workspace),
        end.result.as_str(),
        end.tally.map_or(0, |t| t.failed),
    );
    if !say {
        return;
    }
    let counts = end
        .tally
        .map(|t| format!("{}/{} desktops", t.ok, t.total))
        .unwrap_or_default();
    match end.result {
        JobResult::Ok => {
            tracing::info!(delivery_id = job.delivery_id, job_id = %job.job_id, job_result = "ok", "job done: {counts}")
        }
        other => {
            tracing::warn!(delivery_id = job.delivery_id, job_id = %job.job_id, job_result = other.as_str(), error = end.error.as_deref().unwrap_or(""), "job done: {counts}")
        }
    }
}
