//! Over 400 lines on purpose: one delivery's life is one state machine, read top to bottom.
//! Carries one claimed delivery to its end: attempt, record, decide, wait, again. The one place
//! that joins the Workspace client, the retry policy and the store.
//!
//! Durability: the row was committed `pending` before this starts; each attempt is committed
//! when it ends, with the delivery's new state in the same transaction. A stop between
//! attempts leaves the row `pending` for the next start to resume.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::attempt::{attempt_end, attempt_outcome, attempt_record, log_sent};
use super::routes::Routes;
use super::shutdown::{Shutdown, sleep_unless_stopped};

use crate::domain::Status;
use crate::domain::retry::{Decision, RetryPolicy, decide};
use crate::platform::clock::Clock;
use crate::store::{AttemptLog, Claimed, Store, StoreError, format_time};
use crate::workspace::{Accepted, ApiError, Prepared, WorkspaceClient};

pub use super::routes::Sender;

/// The client and request slots of the delivery's workspace.
#[derive(Clone, Copy)]
struct Way<'a> {
    client: &'a WorkspaceClient,
    limiter: &'a Semaphore,
}

/// How soon the ownership check before an attempt is asked again while the database does not
/// answer (a PostgreSQL restart or failover takes seconds).
const OWNERSHIP_RECHECK: Duration = Duration::from_millis(500);

/// How many recent sub-jobs of a pool are read when looking for a timed-out attempt's job.
const RECONCILE_LOOKBACK: u32 = 100;

/// How a delivery ended, as far as this process is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        job_id: Option<String>,
    },
    Failed {
        reason: String,
    },
    DryRun,
    /// Stopped before the end; the row stays `pending`.
    LeftPending,
    /// The row had already ended (another process, or a cancellation).
    AlreadyDone,
}

/// How a try at an HTTP attempt went.
enum Attempted {
    Done(DateTime<Utc>, Result<Accepted, ApiError>),
    PastDeadline,
    Stopped,
    /// Another instance took the delivery over (this one's lease had run out).
    Lost,
}

/// What follows an attempt.
enum Step {
    Done(Outcome),
    RetryAfter(Duration),
}

pub struct Deliverer {
    store: Store,
    attempts: AttemptLog,
    routes: Arc<Routes>,
    policy: RetryPolicy,
    clock: Clock,
    /// `jobs.first_poll` when accepted jobs are followed (`[jobs] enabled`).
    follow_jobs: Option<Duration>,
    /// `jobs.reconcile_timeouts`.
    reconcile_timeouts: bool,
}

impl Deliverer {
    /// Each route's `max_in_flight` bounds concurrent HTTP requests to its workspace, not
    /// deliveries: a delivery waiting for its next retry holds no slot.
    pub fn new(store: Store, routes: Arc<Routes>, policy: RetryPolicy, clock: Clock) -> Self {
        Self {
            attempts: AttemptLog::start(store.clone()),
            store,
            routes,
            policy,
            clock,
            follow_jobs: None,
            reconcile_timeouts: false,
        }
    }

    /// Accepted jobs are followed, first polled `first_poll` after the 200.
    pub fn follow_jobs(mut self, first_poll: Option<Duration>) -> Self {
        self.follow_jobs = first_poll;
        self
    }

    /// Before retrying a timed-out pool send, look for the job it may have created.
    pub fn reconcile_timeouts(mut self, on: bool) -> Self {
        self.reconcile_timeouts = on;
        self
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    #[tracing::instrument(skip_all, fields(delivery_id = d.id, schedule_id = %d.schedule_id, workspace = %d.workspace, target = %d.target.key(), due_at = %format_time(d.due_at)))]
    pub async fn deliver(&self, d: Claimed, shutdown: &Shutdown) -> Result<Outcome, StoreError> {
        crate::platform::faults::panic_point("delivery");
        let routes = Arc::clone(&self.routes);
        let Some(route) = routes.get(d.workspace.as_str()) else {
            let reason = format!(
                "workspace {:?} is not in the config (removed while this delivery was pending?); not sent",
                d.workspace.as_str()
            );
            return self
                .finish_without_attempt(&d, Status::Failed, reason)
                .await;
        };
        // Sign the first attempt now, while waiting for the due instant: at 1,000 deliveries
        // due at once, signing in the burst would be lateness.
        let mut prepared = match &route.sender {
            Sender::Api(client) if d.attempts == 0 => client
                .prepare(&d.target, &d.text_at(d.due_at), Utc::now())
                .ok()
                .map(|request| (d.text_at(d.due_at), request)),
            _ => None,
        };
        if !self.wait_until_due(&d, &shutdown.stop).await {
            return Ok(Outcome::LeftPending);
        }
        let way = match &route.sender {
            Sender::DryRun if self.still_wanted(&d).await? => return self.finish_dry_run(&d).await,
            Sender::DryRun => return Ok(Outcome::AlreadyDone),
            Sender::Api(client) => Way {
                client,
                limiter: &route.limiter,
            },
        };
        let mut backoff = self.policy.backoff();
        for _ in 0..d.attempts {
            backoff.next();
        }
        let mut attempt = d.attempts;
        // An IAM token is re-read once after a 401 and the request retried once; a second
        // 401 is final.
        let mut token_refreshed = false;
        loop {
            if !self.still_wanted(&d).await? {
                return Ok(Outcome::AlreadyDone);
            }
            attempt += 1;
            let (started, result) = match self.attempt(way, &d, prepared.take(), shutdown).await {
                Attempted::Done(started, result) => (started, result),
                Attempted::PastDeadline => {
                    let reason = format!(
                        "deadline {} passed before attempt {attempt} could start",
                        format_time(d.deadline_at)
                    );
                    return self
                        .finish_without_attempt(&d, Status::Failed, reason)
                        .await;
                }
                Attempted::Stopped => {
                    tracing::info!(
                        attempt,
                        "stopping: delivery left pending for the next start"
                    );
                    return Ok(Outcome::LeftPending);
                }
                Attempted::Lost => {
                    tracing::warn!(
                        attempt,
                        "not sent: another instance took this delivery over after this one's lease ran out"
                    );
                    return Ok(Outcome::AlreadyDone);
                }
            };
            let next_backoff = backoff.next().unwrap_or_default();
            match self
                .conclude(
                    way,
                    &d,
                    (attempt, &mut token_refreshed),
                    started,
                    result,
                    next_backoff,
                )
                .await?
            {
                Step::Done(outcome) => return Ok(outcome),
                Step::RetryAfter(after) => {
                    if !sleep_unless_stopped(after, &shutdown.stop).await {
                        return Ok(Outcome::LeftPending);
                    }
                }
            }
        }
    }

    /// False once a delivery that may be cancelled (a maintenance warning) is no longer
    /// `pending`; other deliveries are not re-read.
    async fn still_wanted(&self, d: &Claimed) -> Result<bool, StoreError> {
        if !d.may_be_cancelled || self.store.is_pending(d.id).await? {
            return Ok(true);
        }
        tracing::info!("not sent: the delivery was cancelled or finished after it was claimed");
        Ok(false)
    }

    /// Decides what follows an attempt, commits the attempt, and says whether to go on.
    async fn conclude(
        &self,
        way: Way<'_>,
        d: &Claimed,
        (attempt, token_refreshed): (u32, &mut bool),
        started: DateTime<Utc>,
        result: Result<Accepted, ApiError>,
        backoff: Duration,
    ) -> Result<Step, StoreError> {
        let finished = self.clock.now();
        crate::platform::metrics::attempt_ended(d.workspace.as_str(), attempt_outcome(&result));
        // A switch-off is due at its window's start (its one key) and goes out at the end.
        if attempt == 1 && d.target.mode() != Some(false) {
            crate::platform::metrics::lateness(
                d.workspace.as_str(),
                (started - d.due_at).num_milliseconds() as f64 / 1000.0,
            );
        }
        let end = attempt_end(&result, way.client, *token_refreshed);
        let decision = decide(end, attempt, &self.policy, backoff, finished, d.deadline_at);
        let mut record = attempt_record(d, attempt, started, finished, &result, decision);
        record.message = d.countdown.is_some().then(|| d.text_at(started));
        if record.status == Status::Sent && record.job_id.is_some() {
            record.job_poll_at = self
                .follow_jobs
                .map(|first| crate::domain::time_math::plus(finished, first));
        }
        self.attempts.record(record.clone()).await?;
        Ok(match decision {
            Decision::Sent => Step::Done(Outcome::Sent {
                job_id: log_sent(attempt, &result),
            }),
            Decision::Failed(_) => {
                let reason = record
                    .delivery_error
                    .or(record.error_msg)
                    .unwrap_or_default();
                tracing::error!(attempts = attempt, status = "failed", error = %reason, "delivery failed");
                Step::Done(Outcome::Failed { reason })
            }
            Decision::Retry {
                after,
                refresh_token,
            } => {
                if matches!(result, Err(ApiError::Timeout(_)))
                    && let Some(job_id) = self.adopt_after_timeout(way, d, attempt, started).await?
                {
                    return Ok(Step::Done(Outcome::Sent {
                        job_id: Some(job_id),
                    }));
                }
                tracing::info!(attempt, retry_in_ms = after.as_millis() as u64, error = %record.error_msg.unwrap_or_default(), "attempt failed; will retry");
                if refresh_token {
                    *token_refreshed = true;
                    if let Err(err) = way.client.credentials().refresh_token() {
                        tracing::warn!(error = %err, "cannot re-read the IAM token file");
                    }
                }
                Step::RetryAfter(after)
            }
        })
    }

    /// After attempt `attempt` to a pool timed out, Workspace may still have accepted it: a
    /// job created for the pool since the attempt started, that no delivery of ours has, is
    /// taken as its result instead of sending again (recorded as attempt `attempt + 1`).
    /// Any failure to find one just lets the retry go ahead.
    async fn adopt_after_timeout(
        &self,
        way: Way<'_>,
        d: &Claimed,
        attempt: u32,
        started: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let (true, Some(pool)) = (self.reconcile_timeouts, d.target.pool()) else {
            return Ok(None);
        };
        let jobs = {
            let Ok(_permit) = way.limiter.acquire().await else {
                return Ok(None);
            };
            match way.client.recent_pool_jobs(pool, RECONCILE_LOOKBACK).await {
                Ok(jobs) => jobs,
                Err(err) => {
                    tracing::info!(error = %err, "cannot look for a job of the timed-out attempt; retrying");
                    return Ok(None);
                }
            }
        };
        // The gateway's clock and ours may differ a little; a job older than that is another's.
        let since = started - chrono::TimeDelta::seconds(5);
        let now = self.clock.now();
        for job in jobs
            .iter()
            .filter(|j| j.begin_time.is_some_and(|t| t >= since))
        {
            let note = format!(
                "attempt {attempt} timed out, but Workspace had accepted it: took job {} (created for the pool at {}) instead of sending again",
                job.job_id,
                job.begin_time.map(format_time).unwrap_or_default()
            );
            let poll_at = self
                .follow_jobs
                .map(|first| crate::domain::time_math::plus(now, first));
            if self
                .store
                .adopt_job(d.id, attempt + 1, &job.job_id, &note, now, poll_at)
                .await?
            {
                tracing::info!(attempts = attempt, status = "sent", job_id = %job.job_id, "{note}");
                return Ok(Some(job.job_id.clone()));
            }
        }
        Ok(None)
    }

    /// One HTTP attempt within the in-flight limit. The deadline is checked once a slot is
    /// free, since waiting for one can take a while (a countdown must not go out late).
    /// Stopped: before it could start, or aborted in flight (nothing recorded, row pending).
    /// `prepared`: the request signed ahead, sent if still fresh; else it is signed now.
    async fn attempt(
        &self,
        way: Way<'_>,
        d: &Claimed,
        prepared: Option<(String, Prepared)>,
        shutdown: &Shutdown,
    ) -> Attempted {
        let _permit = tokio::select! {
            permit = way.limiter.acquire() => match permit {
                Ok(permit) => permit,
                Err(_) => return Attempted::Stopped,
            },
            () = shutdown.stop.cancelled() => return Attempted::Stopped,
        };
        // Right before sending: the delivery must still be this instance's (PostgreSQL). While
        // the database cannot answer, nothing is sent; the question is asked again until the
        // deadline.
        loop {
            if self.clock.now() >= d.deadline_at {
                return Attempted::PastDeadline;
            }
            match self.store.still_owns(d.id).await {
                Ok(true) => break,
                Ok(false) => return Attempted::Lost,
                Err(err) => {
                    tracing::error!(error = %err, "cannot check that this instance still owns the delivery; not sending until the database answers");
                    if !sleep_unless_stopped(OWNERSHIP_RECHECK, &shutdown.stop).await {
                        return Attempted::Stopped;
                    }
                }
            }
        }
        let started = self.clock.now();
        if started >= d.deadline_at {
            return Attempted::PastDeadline;
        }
        let signed_now = Utc::now();
        // A countdown tells the time left when the request is made (see `Claimed::text_at`):
        // the request signed ahead is sent only if its text is still the right one.
        let text = d.text_at(started);
        let request = match prepared.filter(|(t, p)| *t == text && p.is_fresh(signed_now)) {
            Some((_, request)) => request,
            None => match way.client.prepare(&d.target, &text, signed_now) {
                Ok(request) => request,
                Err(err) => return Attempted::Done(started, Err(err)),
            },
        };
        tokio::select! {
            result = way.client.send(request) => Attempted::Done(started, result),
            () = shutdown.abort.cancelled() => Attempted::Stopped,
        }
    }

    /// Deliveries are claimed a little ahead (`scheduler::CLAIM_LEAD`); none goes out early.
    async fn wait_until_due(&self, d: &Claimed, stop: &CancellationToken) -> bool {
        match (d.due_at - self.clock.now()).to_std() {
            Ok(wait) if !wait.is_zero() => sleep_unless_stopped(wait, stop).await,
            _ => true,
        }
    }

    async fn finish_dry_run(&self, d: &Claimed) -> Result<Outcome, StoreError> {
        if !self
            .store
            .finish_delivery(d.id, Status::DryRun, None, self.clock.now())
            .await?
        {
            return Ok(Outcome::AlreadyDone);
        }
        tracing::debug!(status = "dry_run", text = %d.message, "dry run: recorded, not sent");
        Ok(Outcome::DryRun)
    }

    async fn finish_without_attempt(
        &self,
        d: &Claimed,
        status: Status,
        reason: String,
    ) -> Result<Outcome, StoreError> {
        if !self
            .store
            .finish_delivery(d.id, status, Some(&reason), self.clock.now())
            .await?
        {
            return Ok(Outcome::AlreadyDone);
        }
        tracing::error!(attempts = d.attempts, status = status.as_str(), error = %reason, "delivery ended without sending");
        Ok(Outcome::Failed { reason })
    }
}
