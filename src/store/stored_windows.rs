//! Maintenance windows kept in the database, and cancellations of any window's occurrences.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

use super::cells::Cells;
use super::time::stored_time;
use super::{Store, StoreError};
use crate::domain::maintenance::Cancellations;

/// A window as stored: the same fields as a `[[maintenance_windows]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWindow {
    pub id: String,
    pub start: Option<String>,
    pub cron: Option<String>,
    pub duration: String,
    pub notify_before: Vec<String>,
    pub timezone: Option<String>,
    pub pools: Vec<String>,
    pub message: String,
    pub start_message: Option<String>,
    pub end_message: Option<String>,
    pub misfire_grace: Option<String>,
    /// Desktops into Workspace's maintenance mode for the window's duration.
    pub maintenance_mode: bool,
    pub extra: StoredTargets,
}

/// What database schedules and windows add beyond pools: the workspace, desktops and
/// `resend_failed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredTargets {
    /// The workspace it names; None: the only one.
    pub workspace: Option<String>,
    pub desktops: Vec<String>,
    pub resend_attempts: Option<i64>,
    pub resend_after: Option<String>,
    /// Tags, enterprise project, users, all desktops, audience and guard, as written.
    pub selectors: StoredSelectors,
}

/// The selector keys of a stored schedule or window, as the CLI flags gave them (validated
/// by the caller like a file entry's); stored as one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct StoredSelectors {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_desktops: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_audience: Option<i64>,
}

impl StoredSelectors {
    /// `selectors` as stored: NULL when none is set.
    pub(super) fn json(&self) -> Option<String> {
        (self != &Self::default())
            .then(|| serde_json::to_string(self).expect("plain values serialize"))
    }
}

impl StoredTargets {
    pub(super) fn from_row(c: &Cells<'_>) -> Result<Self, StoreError> {
        let desktops: Option<String> = c.get("desktops")?;
        let selectors: Option<String> = c.get("selectors")?;
        Ok(StoredTargets {
            selectors: match selectors {
                Some(text) => c.parsed_json("selectors", &text)?,
                None => StoredSelectors::default(),
            },
            workspace: c.get("workspace")?,
            desktops: match desktops {
                Some(text) => c.parsed_list("desktops", &text)?,
                None => Vec::new(),
            },
            resend_attempts: c.get("resend_attempts")?,
            resend_after: c.get("resend_after")?,
        })
    }

    /// `desktops` as stored: NULL when there are none.
    pub(super) fn desktops_json(&self) -> Option<String> {
        (!self.desktops.is_empty()).then(|| json(&self.desktops))
    }
}

pub(super) fn json(list: &[String]) -> String {
    serde_json::to_string(list).expect("strings serialize")
}

impl Store {
    /// Adds a window; false if the id is taken (by a window or a schedule).
    pub async fn insert_window(
        &self,
        w: &StoredWindow,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = insert_window_in(&mut tx, w, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn list_windows(&self) -> Result<Vec<StoredWindow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM maintenance_windows ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        self.readable(rows.iter().map(|r| {
            let c = Cells::new("maintenance_windows", r);
            Ok(StoredWindow {
                id: c.get("id")?,
                start: c.get("start_at")?,
                cron: c.get("cron")?,
                duration: c.get("duration")?,
                notify_before: c.list("notify_before")?,
                timezone: c.get("timezone")?,
                pools: c.list("pools")?,
                message: c.get("message")?,
                start_message: c.get("start_message")?,
                end_message: c.get("end_message")?,
                misfire_grace: c.get("misfire_grace")?,
                maintenance_mode: c.get::<Option<i64>>("maintenance_mode")?.unwrap_or(0) != 0,
                extra: StoredTargets::from_row(&c)?,
            })
        }))
    }

    /// Cancellations per window id.
    pub async fn cancellations(&self) -> Result<HashMap<String, Cancellations>, StoreError> {
        let rows = sqlx::query("SELECT window_id, occurrence_start FROM window_cancellations")
            .fetch_all(&self.pool)
            .await?;
        let mut out: HashMap<String, Cancellations> = HashMap::new();
        let read = |row| -> Result<(String, Option<DateTime<Utc>>), StoreError> {
            let c = Cells::new("window_cancellations", row);
            Ok((c.get("window_id")?, c.optional_time("occurrence_start")?))
        };
        for (window, start) in self.readable(rows.iter().map(read))? {
            let entry = out.entry(window).or_default();
            match start {
                Some(start) => {
                    entry.starts.insert(start);
                }
                None => entry.all = true,
            }
        }
        Ok(out)
    }

    /// Records the cancellation and closes, in the same transaction, the window's deliveries
    /// already claimed but not finished whose due time lies in `[from, to]` (every pending one
    /// when `occurrence` is None). Returns how many rows became `cancelled`.
    pub async fn cancel_window(
        &self,
        window_id: &str,
        occurrence: Option<DateTime<Utc>>,
        range: Option<(DateTime<Utc>, DateTime<Utc>)>,
        notice: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO window_cancellations (window_id, occurrence_start, notice, created_at) VALUES ($1, $2, $3, $4)")
            .bind(window_id)
            .bind(occurrence.map(stored_time))
            .bind(notice)
            .bind(stored_time(now))
            .execute(&mut *tx)
            .await?;
        let (from, to) = match range {
            Some((from, to)) => (Some(stored_time(from)), Some(stored_time(to))),
            None => (None, None),
        };
        let closed = sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', finished_at = $1, error_msg = 'maintenance window cancelled'
             WHERE schedule_id = $2 AND status = 'pending'
               AND ($3 IS NULL OR due_at >= $4)
               AND ($5 IS NULL OR due_at <= $6)",
        )
        .bind(stored_time(now))
        .bind(window_id)
        .bind(&from)
        .bind(&from)
        .bind(&to)
        .bind(&to)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(closed.rows_affected())
    }

    /// Postponed occurrences per window id: the start its times give → where it now is.
    pub async fn window_moves(
        &self,
    ) -> Result<HashMap<String, BTreeMap<DateTime<Utc>, DateTime<Utc>>>, StoreError> {
        let rows = sqlx::query("SELECT window_id, occurrence_start, new_start FROM window_moves")
            .fetch_all(&self.pool)
            .await?;
        let read = |row| -> Result<(String, DateTime<Utc>, DateTime<Utc>), StoreError> {
            let c = Cells::new("window_moves", row);
            Ok((
                c.get("window_id")?,
                c.time("occurrence_start")?,
                c.time("new_start")?,
            ))
        };
        let mut out: HashMap<String, BTreeMap<_, _>> = HashMap::new();
        for (window, from, to) in self.readable(rows.iter().map(read))? {
            out.entry(window).or_default().insert(from, to);
        }
        Ok(out)
    }

    /// `maintenance postpone`: the occurrence starting at `from` (as now planned, so possibly
    /// moved already) starts at `to`; in the same transaction the window's claimed, unfinished
    /// deliveries due in `range` (the old occurrence's messages) are closed as cancelled.
    /// Returns how many were closed.
    pub(crate) async fn postpone_window(
        &self,
        window_id: &str,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        range: (DateTime<Utc>, DateTime<Utc>),
        notice: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let again = sqlx::query(
            "UPDATE window_moves SET new_start = $1, notice = $2, created_at = $3
             WHERE window_id = $4 AND new_start = $5",
        )
        .bind(stored_time(to))
        .bind(notice)
        .bind(stored_time(now))
        .bind(window_id)
        .bind(stored_time(from))
        .execute(&mut *tx)
        .await?;
        if again.rows_affected() == 0 {
            sqlx::query("INSERT INTO window_moves (window_id, occurrence_start, new_start, notice, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(window_id)
                .bind(stored_time(from))
                .bind(stored_time(to))
                .bind(notice)
                .bind(stored_time(now))
                .execute(&mut *tx)
                .await?;
        }
        let closed = sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', finished_at = $1, error_msg = 'maintenance window postponed'
             WHERE schedule_id = $2 AND status = 'pending' AND due_at >= $3 AND due_at <= $4",
        )
        .bind(stored_time(now))
        .bind(window_id)
        .bind(stored_time(range.0))
        .bind(stored_time(range.1))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(closed.rows_affected())
    }

    /// `maintenance uncancel`: the cancellations of occurrences still ahead (and of all) go;
    /// how many. Warnings already closed as cancelled stay so (they are history).
    pub(crate) async fn uncancel_window(
        &self,
        window_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM window_cancellations
             WHERE window_id = $1 AND (occurrence_start IS NULL OR occurrence_start > $2)",
        )
        .bind(window_id)
        .bind(stored_time(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// `maintenance remove`: a database window goes (its history stays); false when there
    /// was none.
    pub(crate) async fn delete_window(&self, window_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM maintenance_windows WHERE id = $1")
            .bind(window_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// [`Store::insert_window`] inside `tx` (also `schedule import`'s).
pub(super) async fn insert_window_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    w: &StoredWindow,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM schedules WHERE id = $1")
        .bind(&w.id)
        .fetch_one(&mut **tx)
        .await?;
    if taken > 0 {
        return Ok(false);
    }
    let done = sqlx::query(
            "INSERT INTO maintenance_windows (id, start_at, cron, duration, notify_before, timezone, pools, message, start_message, end_message, misfire_grace, created_at, desktops, resend_attempts, resend_after, workspace, selectors, maintenance_mode)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&w.id)
        .bind(&w.start)
        .bind(&w.cron)
        .bind(&w.duration)
        .bind(json(&w.notify_before))
        .bind(&w.timezone)
        .bind(json(&w.pools))
        .bind(&w.message)
        .bind(&w.start_message)
        .bind(&w.end_message)
        .bind(&w.misfire_grace)
        .bind(stored_time(now))
        .bind(w.extra.desktops_json())
        .bind(w.extra.resend_attempts)
        .bind(&w.extra.resend_after)
        .bind(&w.extra.workspace)
        .bind(w.extra.selectors.json())
        .bind(i64::from(w.maintenance_mode))
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}
