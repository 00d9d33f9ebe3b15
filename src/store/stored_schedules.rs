//! Schedules managed with `schedule add` and friends, and the change counter the daemon
//! watches to pick them up.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, Row, SqliteConnection};

use super::time::format_time;
use super::{Store, StoreError};

/// A schedule as stored: the same fields as a `[[schedules]]` entry, validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    pub id: String,
    pub cron: Option<String>,
    pub at: Option<String>,
    pub every: Option<String>,
    pub start: Option<String>,
    pub timezone: Option<String>,
    pub pools: Vec<String>,
    pub message: String,
    pub misfire_grace: Option<String>,
    pub paused: bool,
    pub catch_up: Option<String>,
    pub extra: super::stored_windows::StoredTargets,
}

impl Store {
    /// Adds a schedule; false if the id is taken (by a schedule or a window).
    pub async fn insert_schedule(
        &self,
        s: &StoredSchedule,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let pools = serde_json::to_string(&s.pools).expect("strings serialize");
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let taken: i64 =
            sqlx::query_scalar("SELECT count(*) FROM maintenance_windows WHERE id = ?")
                .bind(&s.id)
                .fetch_one(&mut *tx)
                .await?;
        if taken > 0 {
            return Ok(false);
        }
        let done = sqlx::query(
            "INSERT INTO schedules (id, cron, at, every, start_at, timezone, pools, message, misfire_grace, paused, created_at, updated_at, catch_up, desktops, resend_attempts, resend_after)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&s.id)
        .bind(&s.cron)
        .bind(&s.at)
        .bind(&s.every)
        .bind(&s.start)
        .bind(&s.timezone)
        .bind(pools)
        .bind(&s.message)
        .bind(&s.misfire_grace)
        .bind(s.paused)
        .bind(format_time(now))
        .bind(format_time(now))
        .bind(&s.catch_up)
        .bind(s.extra.desktops_json())
        .bind(s.extra.resend_attempts)
        .bind(&s.extra.resend_after)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn list_schedules(&self) -> Result<Vec<StoredSchedule>, StoreError> {
        let rows = sqlx::query("SELECT * FROM schedules ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(stored_from_row).collect()
    }

    /// Pauses or resumes; false if there is no such schedule.
    pub async fn set_schedule_paused(
        &self,
        id: &str,
        paused: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE schedules SET paused = ?, updated_at = ? WHERE id = ?")
            .bind(paused)
            .bind(format_time(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the schedule (its deliveries stay as history); false if there was none.
    pub async fn delete_schedule(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM schedules WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A dedicated connection for noticing changes: `PRAGMA data_version` is per connection.
    pub async fn change_watcher(&self) -> Result<ChangeWatcher, StoreError> {
        let conn = self.pool.acquire().await?.detach();
        Ok(ChangeWatcher {
            conn,
            data_version: None,
            counter: None,
        })
    }
}

/// Tells whether `schedules` changed since the last look, cheaply: one pragma, and one row
/// read only when some other connection committed something.
pub struct ChangeWatcher {
    conn: SqliteConnection,
    data_version: Option<i64>,
    counter: Option<i64>,
}

impl ChangeWatcher {
    pub async fn schedules_changed(&mut self) -> Result<bool, StoreError> {
        let version: i64 = sqlx::query_scalar("PRAGMA data_version")
            .fetch_one(&mut self.conn)
            .await?;
        if self.data_version == Some(version) {
            return Ok(false);
        }
        self.data_version = Some(version);
        let counter: i64 =
            sqlx::query_scalar("SELECT value FROM change_counters WHERE name = 'schedules'")
                .fetch_one(&mut self.conn)
                .await?;
        let changed = self.counter.is_some_and(|c| c != counter);
        self.counter = Some(counter);
        Ok(changed)
    }

    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

fn stored_from_row(row: &SqliteRow) -> Result<StoredSchedule, StoreError> {
    let pools_text: String = row.get("pools");
    let pools = serde_json::from_str(&pools_text).map_err(|_| StoreError::Corrupt {
        column: "schedules.pools",
        value: pools_text,
    })?;
    Ok(StoredSchedule {
        id: row.get("id"),
        cron: row.get("cron"),
        at: row.get("at"),
        every: row.get("every"),
        start: row.get("start_at"),
        timezone: row.get("timezone"),
        pools,
        message: row.get("message"),
        misfire_grace: row.get("misfire_grace"),
        paused: row.get("paused"),
        catch_up: row.get("catch_up"),
        extra: super::stored_windows::StoredTargets::from_row("schedules.desktops", row)?,
    })
}
