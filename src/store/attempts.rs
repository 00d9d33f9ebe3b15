//! Recording attempts with group commit. Each attempt is committed, together with its effect
//! on the delivery, before its delivery goes on (the next retry, or the end). Attempts that
//! end close together share one commit: at 1,000 deliveries a second that is one or two
//! transactions instead of a thousand, each with an fsync and four round trips to SQLite's
//! worker thread.

use sqlx::{Any, Transaction};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::deliveries::AttemptRecord;
use super::time::stored_time;
use super::{Store, StoreError};
use crate::domain::Status;

/// Records per statement: at most 10 parameters each, well under SQLite's 32,766.
const CHUNK: usize = 400;
/// Records per transaction at most; more simply wait for the next one.
const MAX_BATCH: usize = 2_000;

type Ack = oneshot::Sender<Result<(), Arc<StoreError>>>;

/// The handle deliveries use to record attempts; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct AttemptLog {
    queue: mpsc::UnboundedSender<(AttemptRecord, Ack)>,
}

impl AttemptLog {
    /// Starts the writer task; it ends when the last handle is dropped.
    pub(crate) fn start(store: Store) -> AttemptLog {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store, rx));
        AttemptLog { queue }
    }

    /// Returns once `record` is committed.
    pub(crate) async fn record(&self, record: AttemptRecord) -> Result<(), StoreError> {
        let (ack, committed) = oneshot::channel();
        self.queue
            .send((record, ack))
            .map_err(|_| StoreError::WriterStopped)?;
        committed
            .await
            .map_err(|_| StoreError::WriterStopped)?
            .map_err(StoreError::Batch)
    }
}

/// While attempts keep ending (a burst of deliveries due at once), their commit waits until
/// none has ended for `GATHER_QUIET`, at most `GATHER_MAX` after the first: the commit's CPU
/// then does not compete with the requests of the burst still going out. Nothing waits for
/// a commit but the delivery's own next step (a retry or its end).
const GATHER_QUIET: Duration = Duration::from_millis(2);
const GATHER_MAX: Duration = Duration::from_millis(50);

async fn write_batches(store: Store, mut rx: mpsc::UnboundedReceiver<(AttemptRecord, Ack)>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let latest = Instant::now() + GATHER_MAX;
        // One timer per pause, not one per record: a burst ends records by the hundred.
        loop {
            tokio::time::sleep_until((Instant::now() + GATHER_QUIET).min(latest)).await;
            let before = batch.len();
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            if batch.len() == before || batch.len() >= MAX_BATCH || Instant::now() >= latest {
                break;
            }
        }
        let (records, acks): (Vec<AttemptRecord>, Vec<Ack>) = batch.into_iter().unzip();
        let result = commit_with_retries(&store, &records).await;
        for ack in acks {
            let _ = ack.send(result.clone());
        }
    }
}

/// Waits between tries of a failed commit: the HTTP attempts already happened, so losing
/// their record would let a restart send them again. SQLite: a locked or briefly full disk
/// gets about a minute (each try also waits out the busy timeout) before giving up.
const COMMIT_RETRIES: [Duration; 4] = [
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

/// PostgreSQL: about two minutes, so a server restart or an RDS switch to the standby
/// (typically 30-60 s) is outlasted; 17 s lost the records of a restart that took longer, and
/// those attempts, already accepted by Workspace, were sent again.
const COMMIT_RETRIES_POSTGRES: [Duration; 7] = [
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(15),
    Duration::from_secs(30),
    Duration::from_secs(60),
];

async fn commit_with_retries(
    store: &Store,
    records: &[AttemptRecord],
) -> Result<(), Arc<StoreError>> {
    let mut waits = match store.engine {
        super::Engine::Sqlite => COMMIT_RETRIES.iter(),
        super::Engine::Postgres => COMMIT_RETRIES_POSTGRES.iter(),
    };
    loop {
        let err = match store.record_attempts(records).await {
            Ok(()) => return Ok(()),
            Err(err) => err,
        };
        let Some(wait) = waits.next() else {
            // Say what happened, so an operator can reconcile with Workspace's job list.
            for r in records {
                tracing::error!(delivery_id = r.delivery_id, attempt = r.attempt, http_status = r.http_status, job_id = r.job_id.as_deref().unwrap_or(""), error = %err, "attempt could not be recorded; the delivery stays pending and a restart may repeat it");
            }
            return Err(Arc::new(err));
        };
        tracing::warn!(error = %err, retry_in_ms = wait.as_millis() as u64, records = records.len(), "cannot commit attempt records; retrying");
        tokio::time::sleep(*wait).await;
    }
}

impl Store {
    /// Commits attempts and their effect on their deliveries in one transaction. A delivery
    /// that is no longer `pending` (cancelled meanwhile) keeps its status; so does one another
    /// instance took over (its attempt is still recorded, unless the new owner already
    /// recorded one under the same number: then it is written to the log in full instead).
    pub async fn record_attempts(&self, records: &[AttemptRecord]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let (mut unrecorded, mut lost) = (Vec::new(), Vec::new());
        for chunk in records.chunks(CHUNK) {
            unrecorded.extend(self.insert_attempts(&mut tx, chunk).await?);
            lost.extend(self.update_deliveries(&mut tx, chunk).await?);
        }
        tx.commit().await?;
        let owner = self.owner.as_deref().unwrap_or("");
        for r in unrecorded {
            tracing::error!(
                delivery_id = r.delivery_id,
                attempt = r.attempt,
                http_status = r.http_status,
                error_code = r.error_code.as_deref().unwrap_or(""),
                request_id = r.request_id.as_deref().unwrap_or(""),
                job_id = r.job_id.as_deref().unwrap_or(""),
                owner,
                "attempt not recorded: the instance that took this delivery over recorded one under the same number"
            );
        }
        for id in lost {
            tracing::error!(
                delivery_id = id,
                owner,
                "an attempt ended after another instance had taken the delivery over (this instance lost its lease); the delivery keeps the new owner's record"
            );
        }
        Ok(())
    }

    /// Inserts the attempts; returns those that another instance had already recorded
    /// under the same number (possible only after a takeover).
    async fn insert_attempts<'r>(
        &self,
        tx: &mut Transaction<'static, Any>,
        chunk: &'r [AttemptRecord],
    ) -> Result<Vec<&'r AttemptRecord>, StoreError> {
        let sql = format!(
            "INSERT INTO attempts (delivery_id, attempt, started_at, finished_at, http_status, error_code, error_msg, request_id) VALUES {}
             ON CONFLICT (delivery_id, attempt) DO NOTHING RETURNING delivery_id, attempt",
            super::value_rows(self.engine, chunk.len(), 8)
        );
        // Only placeholders are generated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            query = query
                .bind(r.delivery_id)
                .bind(i64::from(r.attempt))
                .bind(stored_time(r.started_at))
                .bind(stored_time(r.finished_at))
                .bind(r.http_status.map(i64::from))
                .bind(r.error_code.as_deref())
                .bind(r.error_msg.as_deref())
                .bind(r.request_id.as_deref());
        }
        let inserted: std::collections::HashSet<(i64, i64)> = query
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| (sqlx::Row::get(row, 0), sqlx::Row::get(row, 1)))
            .collect();
        Ok(chunk
            .iter()
            .filter(|r| !inserted.contains(&(r.delivery_id, i64::from(r.attempt))))
            .collect())
    }

    /// Applies each attempt to its delivery; returns the pending deliveries it did not change
    /// because they belong to another instance now.
    async fn update_deliveries(
        &self,
        tx: &mut Transaction<'static, Any>,
        chunk: &[AttemptRecord],
    ) -> Result<Vec<i64>, StoreError> {
        let owner = self.owner.as_deref();
        let sql = format!(
        "WITH v(id, attempts, http_status, error_code, error_msg, request_id, job_id, status, finished_at, job_poll_at, message) AS (VALUES {})
         UPDATE deliveries SET
           attempts = v.attempts, http_status = v.http_status, error_code = v.error_code,
           error_msg = v.error_msg, request_id = v.request_id,
           job_id = COALESCE(v.job_id, deliveries.job_id), status = v.status, finished_at = v.finished_at,
           job_next_poll_at = v.job_poll_at, message = COALESCE(v.message, deliveries.message)
         FROM v WHERE deliveries.id = v.id AND deliveries.status = 'pending'
           AND ({owner} IS NULL OR deliveries.claimed_by = {owner_again})
         RETURNING deliveries.id",
        super::value_rows(self.engine, chunk.len(), 11),
        owner = self.engine.placeholder(chunk.len() * 11 + 1),
        owner_again = self.engine.placeholder(chunk.len() * 11 + 2),
    );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            let finished_at = (r.status != Status::Pending).then(|| stored_time(r.finished_at));
            query = query
                .bind(r.delivery_id)
                .bind(i64::from(r.attempt))
                .bind(r.http_status.map(i64::from))
                .bind(r.error_code.as_deref())
                .bind(r.delivery_error.as_deref().or(r.error_msg.as_deref()))
                .bind(r.request_id.as_deref())
                .bind(r.job_id.as_deref())
                .bind(r.status.as_str())
                .bind(finished_at)
                .bind(r.job_poll_at.map(stored_time))
                .bind(r.message.as_deref());
        }
        let updated: std::collections::HashSet<i64> = query
            .bind(owner)
            .bind(owner)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| sqlx::Row::get(row, 0))
            .collect();
        let missed: Vec<i64> = chunk
            .iter()
            .map(|r| r.delivery_id)
            .filter(|id| !updated.contains(id))
            .collect();
        if missed.is_empty() || owner.is_none() {
            return Ok(Vec::new());
        }
        // Not updated: ended meanwhile (a cancellation; nothing lost), or still pending under
        // another owner (taken over).
        let sql = format!(
            "SELECT id FROM deliveries WHERE status = 'pending' AND id IN ({})",
            super::numbered(self.engine, 1, missed.len())
        );
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for id in &missed {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&mut **tx).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PoolId, ScheduleId, Target};
    use crate::store::NewDelivery;
    use chrono::{TimeDelta, Utc};

    fn attempt(delivery_id: i64, http_status: u16, status: Status) -> AttemptRecord {
        let now = Utc::now();
        AttemptRecord {
            delivery_id,
            attempt: 1,
            started_at: now,
            finished_at: now,
            http_status: Some(http_status),
            error_code: None,
            error_msg: None,
            request_id: None,
            job_id: (status == Status::Sent).then(|| "job-new-owner".to_owned()),
            status,
            delivery_error: None,
            job_poll_at: None,
            message: None,
        }
    }

    /// After a takeover, the old owner's late record of an attempt the new owner already
    /// recorded under the same number neither fails the batch it is in (which holds other,
    /// good records) nor overwrites the new owner's record.
    #[tokio::test]
    async fn a_lost_owners_late_attempt_neither_fails_the_batch_nor_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let base = Store::open(&dir.path().join("t.db")).await.unwrap();
        let (old, new) = (base.clone().owned_by("old"), base.clone().owned_by("new"));
        let now = Utc::now();
        let delivery = |pool: &str| {
            NewDelivery::new(
                (
                    ScheduleId::parse("s").unwrap(),
                    crate::domain::WorkspaceName::default_name(),
                ),
                Target::Pool(PoolId::parse(pool).unwrap()),
                (now, now + TimeDelta::minutes(5)),
                "m".into(),
            )
        };
        let claimed = old
            .claim_deliveries(&[delivery("p1"), delivery("p2")], &[], now)
            .await
            .unwrap();
        let (taken, kept) = (claimed[0].id, claimed[1].id);
        assert!(new.adopt_delivery(taken, Some("old")).await.unwrap());
        new.record_attempts(&[attempt(taken, 200, Status::Sent)])
            .await
            .unwrap();
        old.record_attempts(&[
            attempt(taken, 503, Status::Pending),
            attempt(kept, 200, Status::Sent),
        ])
        .await
        .unwrap();
        let taken_row = base.delivery(taken).await.unwrap().unwrap();
        assert_eq!(
            (taken_row.status.as_str(), taken_row.http_status),
            ("sent", Some(200))
        );
        assert_eq!(base.delivery(kept).await.unwrap().unwrap().status, "sent");
        let taken_attempts = base.attempts_of(taken).await.unwrap();
        assert_eq!(taken_attempts.len(), 1);
        assert_eq!(taken_attempts[0].http_status, Some(200));
    }
}
