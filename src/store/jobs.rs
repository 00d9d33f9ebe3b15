//! Following accepted jobs: which polls are due, taking one (compare-and-set, so no job is
//! polled twice at once, by this process or another), and recording what a poll found, down to
//! each desktop (`recipients`).

use chrono::{DateTime, Utc};

use super::cells::Cells;
use super::time::{parse_time, stored_time};
use super::{Store, StoreError};
use crate::domain::job::{JobResult, Recipient, Tally};
use crate::domain::{ScheduleId, WorkspaceName};

/// A job whose next poll is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobToPoll {
    pub delivery_id: i64,
    pub schedule_id: String,
    /// The workspace whose client polls it.
    pub workspace: String,
    pub job_id: String,
    /// When the 200 came (the delivery's `finished_at`): `give_up_after` counts from here.
    pub accepted_at: DateTime<Utc>,
    pub polls: u32,
    /// The `job_next_poll_at` read, for the compare-and-set of [`Store::take_job_poll`].
    pub next_poll_at: DateTime<Utc>,
}

/// See [`Store::resend_source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResendSource {
    pub schedule_id: ScheduleId,
    /// A re-send goes to the original's workspace.
    pub workspace: WorkspaceName,
    pub message: String,
    /// The countdown, rendered again for the re-send's own request.
    pub countdown: Option<crate::domain::template::Countdown>,
    pub deadline_at: DateTime<Utc>,
    pub resend_left: u32,
    pub resend_after: Option<std::time::Duration>,
}

/// How following a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEnd {
    /// The last status word seen, verbatim.
    pub status: Option<String>,
    pub result: JobResult,
    /// Desktop counts, when the job's desktops are known.
    pub tally: Option<Tally>,
    /// Why following ended without a final status (not found, no permission, gave up).
    pub error: Option<String>,
    pub recipients: Vec<Recipient>,
}

/// A delivery a command ended, for the daemon's counters.
#[derive(Debug, Clone)]
pub struct EndedByCommand {
    pub id: i64,
    pub schedule_id: String,
    pub workspace: String,
    pub status: String,
    pub finished_at: DateTime<Utc>,
}

impl Store {
    /// Jobs whose next poll is due by `now`, soonest first, at most `limit`.
    pub async fn due_job_polls(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<JobToPoll>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, schedule_id, workspace, job_id, finished_at, job_polls, job_next_poll_at FROM deliveries
             WHERE job_next_poll_at IS NOT NULL AND job_result IS NULL AND job_id IS NOT NULL
               AND job_next_poll_at <= $1
             ORDER BY job_next_poll_at LIMIT $2",
        )
        .bind(stored_time(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(job_from_row))
    }

    /// The follower state of one delivery's job, while it is followed.
    pub async fn job_to_poll(&self, delivery_id: i64) -> Result<Option<JobToPoll>, StoreError> {
        let row = sqlx::query(
            "SELECT id, schedule_id, workspace, job_id, finished_at, job_polls, job_next_poll_at FROM deliveries
             WHERE id = $1 AND job_next_poll_at IS NOT NULL AND job_result IS NULL
               AND job_id IS NOT NULL",
        )
        .bind(delivery_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Rows still `pending`, for the pending-deliveries gauge.
    pub async fn count_pending(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Deliveries that commands (`send`, `resend`, notices) ended at or after `since`: (id,
    /// schedule, workspace, status, ended), at most `limit`, oldest first.
    pub async fn ended_by_commands(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<EndedByCommand>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, schedule_id, workspace, status, finished_at FROM deliveries
             WHERE claimed_by LIKE 'cli-%' AND finished_at >= $1 AND status <> 'pending'
             ORDER BY finished_at LIMIT $2",
        )
        .bind(super::time::stored_time(since))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(|row| {
            let c = super::cells::Cells::new("deliveries", row);
            Ok(EndedByCommand {
                id: c.get("id")?,
                schedule_id: c.get("schedule_id")?,
                workspace: c.get("workspace")?,
                status: c.get("status")?,
                finished_at: c.time("finished_at")?,
            })
        }))
    }

    /// When each schedule last had a delivery `sent`, to seed the last-success gauges.
    pub async fn last_successes(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT schedule_id, MAX(finished_at) AS last FROM deliveries
             WHERE status = 'sent' AND finished_at IS NOT NULL GROUP BY schedule_id",
        )
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(|row| {
            let c = Cells::new("deliveries", row);
            Ok((c.get("schedule_id")?, c.time("last")?))
        }))
    }

    /// A trivial query: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The earliest pending poll, if any job is being followed.
    pub async fn next_job_poll(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> = sqlx::query_scalar(
            "SELECT job_next_poll_at FROM deliveries
             WHERE job_next_poll_at IS NOT NULL AND job_result IS NULL
             ORDER BY job_next_poll_at LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        // The earliest due poll; a value that is not a time is skipped by the poll query too.
        Ok(next.and_then(|t| parse_time(&t).ok()))
    }

    /// Takes a due poll: moves its next poll to `lease_until`, so that nobody else polls the
    /// job meanwhile (a poll that dies with its process is taken again after the lease). False
    /// if another follower took it first.
    pub async fn take_job_poll(
        &self,
        job: &JobToPoll,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET job_next_poll_at = $1
             WHERE id = $2 AND job_result IS NULL AND job_next_poll_at = $3",
        )
        .bind(stored_time(lease_until))
        .bind(job.delivery_id)
        .bind(stored_time(job.next_poll_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A poll found the job still running (`status` verbatim, if the answer had one), or got
    /// no answer worth reading: poll again at `next`.
    pub async fn record_job_poll(
        &self,
        delivery_id: i64,
        status: Option<&str>,
        polls: u32,
        next: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deliveries SET job_status = COALESCE($1, job_status), job_polls = $2,
                    job_next_poll_at = $3
             WHERE id = $4 AND job_result IS NULL",
        )
        .bind(status)
        .bind(i64::from(polls))
        .bind(stored_time(next))
        .bind(delivery_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends following a job: its result, counts and desktops, in one transaction.
    pub async fn finish_job(
        &self,
        delivery_id: i64,
        end: &JobEnd,
        polls: u32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now_text = stored_time(now);
        let mut tx = self.begin().await?;
        self.insert_recipients(&mut tx, delivery_id, &end.recipients, (&now_text, true))
            .await?;
        sqlx::query(
            "UPDATE deliveries SET job_status = COALESCE($1, job_status), job_result = $2,
                    desktops_total = $3, desktops_ok = $4, desktops_failed = $5, job_error = $6,
                    job_finished_at = $7, job_next_poll_at = NULL, job_polls = $8
             WHERE id = $9",
        )
        .bind(end.status.as_deref())
        .bind(end.result.as_str())
        .bind(end.tally.map(|t| t.total as i64))
        .bind(end.tally.map(|t| t.ok as i64))
        .bind(end.tally.map(|t| t.failed as i64))
        .bind(end.error.as_deref())
        .bind(&now_text)
        .bind(i64::from(polls))
        .bind(delivery_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What a re-send of `delivery_id` needs from it: schedule, text, deadline and the
    /// automatic re-sends it still allows.
    pub async fn resend_source(
        &self,
        delivery_id: i64,
    ) -> Result<Option<ResendSource>, StoreError> {
        let row = sqlx::query(
            "SELECT id, schedule_id, workspace, message, deadline_at, resend_left, resend_after_ms, countdown_to, countdown_text
             FROM deliveries WHERE id = $1",
        )
        .bind(delivery_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let c = Cells::new("deliveries", &row);
        let schedule: String = c.get("schedule_id")?;
        Ok(Some(ResendSource {
            schedule_id: ScheduleId::parse(&schedule).map_err(|e| c.corrupt("schedule_id", e))?,
            workspace: super::rows::workspace_from_row(&c)?,
            message: c.get("message")?,
            countdown: super::rows::countdown_from(&c)?,
            deadline_at: c.time("deadline_at")?,
            resend_left: c.count("resend_left")?,
            resend_after: c
                .get::<Option<i64>>("resend_after_ms")?
                .map(|ms| std::time::Duration::from_millis(ms.max(0) as u64)),
        }))
    }

    /// Takes `job_id` as the result of a delivery whose attempt timed out (Workspace accepted
    /// it after all): records attempt `attempt` (no request was sent) and ends the delivery
    /// `sent` with that job, in one statement each of one transaction. False, and nothing
    /// recorded, if another delivery already has that job or this one is no longer pending
    /// (or, after a takeover, no longer this handle's).
    pub async fn adopt_job(
        &self,
        delivery_id: i64,
        attempt: u32,
        job_id: &str,
        note: &str,
        now: DateTime<Utc>,
        poll_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let now_text = stored_time(now);
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE deliveries SET status = 'sent', job_id = $1, attempts = $2, finished_at = $3,
                    error_msg = $4, job_next_poll_at = $5
             WHERE id = $6 AND status = 'pending' AND ($8 IS NULL OR claimed_by = $8)
               AND NOT EXISTS (SELECT 1 FROM deliveries WHERE job_id = $7)",
        )
        .bind(job_id)
        .bind(i64::from(attempt))
        .bind(&now_text)
        .bind(note)
        .bind(poll_at.map(stored_time))
        .bind(delivery_id)
        .bind(job_id)
        .bind(self.owner.as_deref())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, http_status, error_code, error_msg, request_id)
             VALUES ($1, $2, $3, $4, NULL, NULL, $5, NULL)",
        )
        .bind(delivery_id)
        .bind(i64::from(attempt))
        .bind(&now_text)
        .bind(&now_text)
        .bind(note)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A delivery's desktops, those that did not get it first.
    pub async fn recipients(&self, delivery_id: i64) -> Result<Vec<Recipient>, StoreError> {
        let rows = sqlx::query(
            "SELECT delivery_id, desktop_id, user_name, desktop_name, status, error_code, fail_reason
             FROM recipients WHERE delivery_id = $1
             ORDER BY status IN ('SUCCESS', 'COMPLETE'), desktop_id",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let c = Cells::new("recipients", row);
                Ok(Recipient {
                    desktop_id: c.get("desktop_id")?,
                    user_name: c.get("user_name")?,
                    desktop_name: c.get("desktop_name")?,
                    status: c.get("status")?,
                    error_code: c.get("error_code")?,
                    fail_reason: c.get("fail_reason")?,
                })
            })
            .collect()
    }
}

fn job_from_row(row: &sqlx::any::AnyRow) -> Result<JobToPoll, StoreError> {
    let c = Cells::new("deliveries", row);
    let next_poll_at = c.time("job_next_poll_at")?;
    Ok(JobToPoll {
        delivery_id: c.get("id")?,
        schedule_id: c.get("schedule_id")?,
        workspace: c.get("workspace")?,
        job_id: c.get("job_id")?,
        accepted_at: c.optional_time("finished_at")?.unwrap_or(next_poll_at),
        polls: c.count("job_polls")?,
        next_poll_at,
    })
}
