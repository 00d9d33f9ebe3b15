//! Claiming deliveries and recording their attempts and outcomes.

use chrono::{DateTime, Utc};

use super::cells::Cells;
use super::rows::Claimed;
use super::time::stored_time;
use super::{Store, StoreError};
use crate::domain::job::Recipient;
use crate::domain::template::Countdown;
use crate::domain::{DesktopId, PoolId, ScheduleId, Status, Target, WorkspaceName};

/// A delivery to claim (status `pending`), or to record at once (`missed`, with `error_msg`).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub schedule_id: ScheduleId,
    /// The workspace it goes to.
    pub workspace: WorkspaceName,
    pub target: Target,
    /// For a re-send: the delivery whose failed desktops it sends to again.
    pub parent_id: Option<i64>,
    /// Automatic re-sends to failed desktops still allowed, and how long after the job's
    /// result each goes out (`resend_failed`).
    pub resend: Option<ResendPolicy>,
    pub due_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub message: String,
    /// A text rendered again when each request is made (maintenance countdowns).
    pub countdown: Option<Countdown>,
    pub status: Status,
    pub error_msg: Option<String>,
    /// Re-read the row's status just before the first attempt: it may be cancelled between
    /// claim and due time (maintenance warnings).
    pub may_be_cancelled: bool,
    /// For an occurrence whose desktops were resolved from Workspace: what was resolved.
    pub audience: Option<AudienceRecord>,
    /// The Workspace scheduled task a warning is about (`[[task_warnings]]`).
    pub workspace_task: Option<String>,
}

impl NewDelivery {
    /// A pending delivery of `message` to `target`, due at `due_at` and not attempted after
    /// `deadline_at`, with nothing else set: callers set what differs with `..`.
    pub fn new(
        (schedule_id, workspace): (ScheduleId, WorkspaceName),
        target: Target,
        (due_at, deadline_at): (DateTime<Utc>, DateTime<Utc>),
        message: String,
    ) -> NewDelivery {
        NewDelivery {
            schedule_id,
            workspace,
            target,
            parent_id: None,
            resend: None,
            due_at,
            deadline_at,
            message,
            countdown: None,
            status: Status::Pending,
            error_msg: None,
            may_be_cancelled: false,
            audience: None,
            workspace_task: None,
        }
    }
}

/// What a delivery records of its resolved audience.
#[derive(Debug, Clone, Default)]
pub struct AudienceRecord {
    /// The query as text (`tags=dept=finance;audience=connected`).
    pub selector: String,
    /// Desktops the selectors matched for the occurrence.
    pub matched: usize,
    /// Desktops this delivery is sent to.
    pub targeted: usize,
    /// Its `recipients` rows from the start: the desktops it goes to (`targeted`), and on the
    /// occurrence's first row those left out, with the reason as status. Not written by the
    /// claim (tens of thousands of rows would hold its transaction past the due time): taken
    /// out with [`planned_recipients`] before it and written with
    /// [`Store::record_planned_recipients`] right after.
    pub recipients: Vec<Recipient>,
}

/// `resend_failed = { attempts, after }` as stored with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendPolicy {
    pub left: u32,
    pub after: std::time::Duration,
}

/// One finished HTTP attempt and what it does to its delivery.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub request_id: Option<String>,
    pub job_id: Option<String>,
    /// The delivery's new status: `Pending` while retries remain.
    pub status: Status,
    /// Set when the delivery ends with an explanation beyond the attempt's own error (e.g.
    /// "gave up after 8 attempts: ..."); stored as the delivery's `error_msg`.
    pub delivery_error: Option<String>,
    /// When the accepted job is first polled; None: not followed.
    pub job_poll_at: Option<DateTime<Utc>>,
    /// The text this attempt sent, when it is not the planned one (a countdown).
    pub message: Option<String>,
}

impl Store {
    /// Inserts the deliveries and records each schedule's progress. Rows that another
    /// process claimed first conflict on the unique key and are skipped: that is a lost race,
    /// not an error. Returns the `pending` rows this call inserted.
    ///
    /// SQLite: one transaction (one fsync for a whole burst), progress in the same commit.
    /// PostgreSQL, where several instances claim the same burst at once: one transaction per
    /// chunk of 500. An instance first takes each chunk no other instance is claiming (a
    /// transaction-level advisory lock on the chunk, tried without waiting), then goes back
    /// over the chunks it skipped, where every row is normally already taken (and those of
    /// an instance that died meanwhile are claimed). So instances split a burst by how fast
    /// each claims, instead of one waiting on the other's uncommitted rows and then finding
    /// them all taken. In the second pass an instance waits only on the transaction of one
    /// chunk, holding no row that transaction needs: no deadlock.
    /// Progress is committed after the last chunk.
    pub async fn claim_deliveries(
        &self,
        batch: &[NewDelivery],
        progress: &[(ScheduleId, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError> {
        if self.engine == super::Engine::Postgres {
            return self.claim_in_turns(batch, progress, now).await;
        }
        let mut tx = self.begin().await?;
        let created_at = stored_time(now);
        let mut claimed = Vec::new();
        for chunk in batch.chunks(CLAIM_CHUNK) {
            claimed.extend(self.insert_chunk(&mut tx, chunk, &created_at).await?);
        }
        for (schedule, last_due) in progress {
            Self::mark_progress(&mut tx, schedule, *last_due, now).await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn claim_in_turns(
        &self,
        batch: &[NewDelivery],
        progress: &[(ScheduleId, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let created_at = stored_time(now);
        let mut claimed = Vec::new();
        let mut skipped = Vec::new();
        for chunk in batch.chunks(CLAIM_CHUNK) {
            let mut tx = self.begin().await?;
            let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(chunk_key(chunk))
                .fetch_one(&mut *tx)
                .await?;
            if !free {
                tx.rollback().await?;
                skipped.push(chunk);
                continue;
            }
            claimed.extend(self.insert_chunk(&mut tx, chunk, &created_at).await?);
            tx.commit().await?;
        }
        for chunk in skipped {
            let mut tx = self.begin().await?;
            claimed.extend(self.insert_chunk(&mut tx, chunk, &created_at).await?);
            tx.commit().await?;
        }
        if !progress.is_empty() {
            // In one order on every instance, so two never wait on each other's rows.
            let mut progress: Vec<_> = progress.iter().collect();
            progress.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            let mut tx = self.begin().await?;
            for (schedule, last_due) in progress {
                Self::mark_progress(&mut tx, schedule, *last_due, now).await?;
            }
            tx.commit().await?;
        }
        Ok(claimed)
    }

    /// Ends a delivery without an HTTP attempt (dry run, deadline passed while down,
    /// cancelled). Only a `pending` row changes, and only while this handle's instance owns
    /// it; returns false if it had already ended or was taken over.
    pub async fn finish_delivery(
        &self,
        id: i64,
        status: Status,
        error_msg: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, error_msg = COALESCE($2, error_msg), finished_at = $3
             WHERE id = $4 AND status = 'pending' AND ($5 IS NULL OR claimed_by = $5)",
        )
        .bind(status.as_str())
        .bind(error_msg)
        .bind(stored_time(now))
        .bind(id)
        .bind(self.owner.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Rows left `pending` by a crash or a stop, oldest first.
    pub async fn pending_deliveries(&self) -> Result<Vec<Claimed>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, schedule_id, workspace, pool_id, target, desktop_ids, maintenance_mode, due_at, deadline_at, message, attempts, claimed_by, countdown_to, countdown_text
             FROM deliveries WHERE status = 'pending' ORDER BY due_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(super::rows::claimed_from_row))
    }

    /// Takes over a pending row from `previous` (a gone instance, or nobody). Compare-and-set:
    /// of two daemons adopting the same row at once, exactly one gets true.
    pub async fn adopt_delivery(
        &self,
        id: i64,
        previous: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET claimed_by = $1 WHERE id = $2 AND status = 'pending' AND claimed_by IS NOT DISTINCT FROM $3",
        )
        .bind(self.owner.as_deref())
        .bind(id)
        .bind(previous)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// True while the delivery is `pending` (not finished or cancelled meanwhile).
    pub async fn is_pending(&self, id: i64) -> Result<bool, StoreError> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM deliveries WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(status.as_deref() == Some(Status::Pending.as_str()))
    }
}

/// Rows per INSERT statement: 23 parameters each stays well under SQLite's 32,766 limit, and
/// one statement per 500 rows instead of per row is what keeps a 10,000-pool burst fast.
const CLAIM_CHUNK: usize = 500;

/// One multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING`; returns the `pending` rows it
/// inserted (conflicts are rows another process claimed first).
impl Store {
    pub(super) async fn insert_chunk(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        chunk: &[NewDelivery],
        created_at: &str,
    ) -> Result<Vec<Claimed>, StoreError> {
        let owner = self.owner.as_deref();
        let mut sql = String::from(
            "INSERT INTO deliveries
           (schedule_id, pool_id, target, desktop_ids, parent_id, due_at, deadline_at, message,
            status, error_msg, created_at, finished_at, claimed_by, resend_left, resend_after_ms,
            countdown_to, countdown_text, workspace, selector, audience_matched, audience_targeted,
            workspace_task, maintenance_mode)
         VALUES ",
        );
        sql.push_str(&super::value_rows(self.engine, chunk.len(), 23));
        sql.push_str(" ON CONFLICT (schedule_id, workspace, target, due_at) DO NOTHING RETURNING id, schedule_id, workspace, target, due_at, status");
        // Only placeholders are generated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for new in chunk {
            let finished_at = (new.status != Status::Pending).then(|| created_at.to_owned());
            query = query
                .bind(new.schedule_id.as_str())
                .bind(new.target.pool().map(PoolId::as_str))
                .bind(new.target.key())
                .bind(desktop_ids_json(&new.target))
                .bind(new.parent_id)
                .bind(stored_time(new.due_at))
                .bind(stored_time(new.deadline_at))
                .bind(new.message.as_str())
                .bind(new.status.as_str())
                .bind(new.error_msg.as_deref())
                .bind(created_at)
                .bind(finished_at)
                .bind(owner)
                .bind(new.resend.map_or(0, |r| i64::from(r.left)))
                .bind(new.resend.map(|r| r.after.as_millis() as i64))
                .bind(new.countdown.as_ref().map(|c| stored_time(c.to)))
                .bind(new.countdown.as_ref().map(|c| c.text.as_str()))
                .bind(new.workspace.as_str())
                .bind(new.audience.as_ref().map(|a| a.selector.as_str()))
                .bind(new.audience.as_ref().map(|a| a.matched as i64))
                .bind(new.audience.as_ref().map(|a| a.targeted as i64))
                .bind(new.workspace_task.as_deref())
                .bind(new.target.mode().map(mode_word));
        }
        let rows = query.fetch_all(&mut **tx).await?;
        let mut inserted: std::collections::HashMap<(String, String, String, String), i64> =
            Default::default();
        for row in &rows {
            let c = Cells::new("deliveries", row);
            let key = (
                c.get("schedule_id")?,
                c.get("workspace")?,
                c.get("target")?,
                c.get("due_at")?,
            );
            inserted.insert(key, c.get("id")?);
        }
        let key_of = |new: &NewDelivery| {
            (
                new.schedule_id.to_string(),
                new.workspace.to_string(),
                new.target.key(),
                stored_time(new.due_at),
            )
        };
        Ok(chunk
            .iter()
            .filter(|new| new.status == Status::Pending)
            .filter_map(|new| {
                let id = inserted.remove(&key_of(new))?;
                Some(Claimed {
                    id,
                    schedule_id: new.schedule_id.clone(),
                    workspace: new.workspace.clone(),
                    target: new.target.clone(),
                    due_at: new.due_at,
                    deadline_at: new.deadline_at,
                    message: new.message.clone(),
                    countdown: new.countdown.clone(),
                    attempts: 0,
                    owner: owner.map(str::to_owned),
                    may_be_cancelled: new.may_be_cancelled,
                })
            })
            .collect())
    }
}

/// The advisory-lock key of a chunk of a claim: its first row's unique key, hashed the same
/// way by every instance (a fixed hasher, not a per-process random one).
fn chunk_key(chunk: &[NewDelivery]) -> i64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let first = &chunk[0];
    BuildHasherDefault::<DefaultHasher>::default().hash_one((
        first.schedule_id.as_str(),
        first.workspace.as_str(),
        first.target.key(),
        stored_time(first.due_at),
    )) as i64
}

/// `deliveries.maintenance_mode`: `on` or `off` for a maintenance-mode switch.
pub(super) fn mode_word(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// `deliveries.desktop_ids`: the JSON array of a desktop target's ids.
fn desktop_ids_json(target: &Target) -> Option<String> {
    match target {
        Target::Pool(_) => None,
        Target::Desktops { ids, .. } | Target::Mode { ids, .. } => Some(
            serde_json::to_string(&ids.iter().map(DesktopId::as_str).collect::<Vec<_>>())
                .expect("strings serialize"),
        ),
    }
}
