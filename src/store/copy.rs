//! `store copy`: every row of one store into another (SQLite to PostgreSQL when moving to
//! several instances), in one transaction on the target, ids kept.

use futures_util::TryStreamExt;
use sqlx::Row;

use super::{Engine, Store, StoreError};

/// The tables `store copy` copies, each with the columns it copies: a test holds this list to
/// both engines' live schemas, so a column added to a migration and not here (it would be
/// silently dropped by a copy) fails it.
pub fn copied_columns() -> Vec<(&'static str, Vec<&'static str>)> {
    TABLES
        .iter()
        .map(|(table, columns)| (*table, columns.iter().map(|(name, _)| *name).collect()))
        .collect()
}

/// A column's type, for reading it from one engine and binding it for the other.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
}
use Kind::{Int, Text};

/// The tables copied, parents before children, with their columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "deliveries",
        &[
            ("id", Int),
            ("schedule_id", Text),
            ("pool_id", Text),
            ("target", Text),
            ("desktop_ids", Text),
            ("parent_id", Int),
            ("due_at", Text),
            ("deadline_at", Text),
            ("message", Text),
            ("status", Text),
            ("attempts", Int),
            ("job_id", Text),
            ("job_status", Text),
            ("http_status", Int),
            ("error_code", Text),
            ("error_msg", Text),
            ("request_id", Text),
            ("created_at", Text),
            ("finished_at", Text),
            ("claimed_by", Text),
            ("job_result", Text),
            ("desktops_total", Int),
            ("desktops_ok", Int),
            ("desktops_failed", Int),
            ("job_finished_at", Text),
            ("job_error", Text),
            ("job_next_poll_at", Text),
            ("job_polls", Int),
            ("resend_left", Int),
            ("resend_after_ms", Int),
            ("countdown_to", Text),
            ("countdown_text", Text),
            ("workspace", Text),
            ("selector", Text),
            ("audience_matched", Int),
            ("audience_targeted", Int),
            ("workspace_task", Text),
            ("maintenance_mode", Text),
        ],
    ),
    (
        "attempts",
        &[
            ("delivery_id", Int),
            ("attempt", Int),
            ("started_at", Text),
            ("finished_at", Text),
            ("http_status", Int),
            ("error_code", Text),
            ("error_msg", Text),
            ("request_id", Text),
        ],
    ),
    (
        "recipients",
        &[
            ("delivery_id", Int),
            ("desktop_id", Text),
            ("user_name", Text),
            ("desktop_name", Text),
            ("status", Text),
            ("error_code", Text),
            ("fail_reason", Text),
            ("updated_at", Text),
        ],
    ),
    (
        "schedule_state",
        &[
            ("schedule_id", Text),
            ("anchor_at", Text),
            ("last_due_at", Text),
        ],
    ),
    (
        "schedules",
        &[
            ("id", Text),
            ("cron", Text),
            ("at", Text),
            ("every", Text),
            ("start_at", Text),
            ("timezone", Text),
            ("pools", Text),
            ("message", Text),
            ("misfire_grace", Text),
            ("paused", Int),
            ("created_at", Text),
            ("updated_at", Text),
            ("catch_up", Text),
            ("desktops", Text),
            ("resend_attempts", Int),
            ("resend_after", Text),
            ("workspace", Text),
            ("selectors", Text),
        ],
    ),
    (
        "maintenance_windows",
        &[
            ("id", Text),
            ("start_at", Text),
            ("cron", Text),
            ("duration", Text),
            ("notify_before", Text),
            ("timezone", Text),
            ("pools", Text),
            ("message", Text),
            ("start_message", Text),
            ("end_message", Text),
            ("misfire_grace", Text),
            ("created_at", Text),
            ("desktops", Text),
            ("resend_attempts", Int),
            ("resend_after", Text),
            ("workspace", Text),
            ("selectors", Text),
            ("maintenance_mode", Int),
        ],
    ),
    (
        "window_cancellations",
        &[
            ("window_id", Text),
            ("occurrence_start", Text),
            ("notice", Text),
            ("created_at", Text),
        ],
    ),
    (
        "window_moves",
        &[
            ("window_id", Text),
            ("occurrence_start", Text),
            ("new_start", Text),
            ("notice", Text),
            ("created_at", Text),
        ],
    ),
    (
        "audit",
        &[
            ("id", Int),
            ("at", Text),
            ("actor", Text),
            ("action", Text),
            ("object", Text),
            ("summary", Text),
            ("note", Text),
        ],
    ),
    (
        "api_tokens",
        &[
            ("name", Text),
            ("hash", Text),
            ("role", Text),
            ("created_at", Text),
            ("expires_at", Text),
            ("last_used_at", Text),
            ("revoked_at", Text),
        ],
    ),
    (
        "workspace_tasks",
        &[
            ("workspace", Text),
            ("task_id", Text),
            ("task_name", Text),
            ("task_type", Text),
            ("scheduled_type", Text),
            ("enabled", Int),
            ("next_execution_time", Text),
            ("time_zone", Text),
            ("objects", Text),
            ("problem", Text),
            ("updated_at", Text),
        ],
    ),
    (
        "pauses",
        &[
            ("schedule_id", Text),
            ("until_at", Text),
            ("note", Text),
            ("include_windows", Int),
            ("created_at", Text),
            ("actor", Text),
        ],
    ),
    (
        "workspace_task_polls",
        &[
            ("workspace", Text),
            ("polled_at", Text),
            ("ok_at", Text),
            ("error_msg", Text),
        ],
    ),
];

/// The table whose rows are never deleted (see [`Store::copy_from`]).
const AUDIT: &str = "audit";

/// Rows per INSERT: 32 columns at most, 16,000 parameters, under both engines' limits.
const ROWS_PER_INSERT: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target already holds data ({0}); nothing was copied. Add --force to replace everything in it but its audit trail, which is kept"
    )]
    NotEmpty(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One value read from a row.
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

impl Store {
    /// The tables of this database, by name.
    pub async fn tables(&self) -> Result<Vec<String>, StoreError> {
        let sql = match self.engine {
            Engine::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Engine::Postgres => {
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            }
        };
        Ok(sqlx::query_scalar(sql).fetch_all(&self.pool).await?)
    }

    /// The columns `table` has in this database, in their order.
    pub async fn columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let sql = match self.engine {
            Engine::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
            Engine::Postgres => {
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                 ORDER BY ordinal_position"
            }
        };
        Ok(sqlx::query_scalar(sql)
            .bind(table)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Rows per copied table, in [`TABLES`] order.
    pub async fn table_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let mut counts = Vec::new();
        for (table, _) in TABLES {
            let sql = format!("SELECT count(*) FROM {table}");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.pool)
                .await?;
            counts.push((*table, n));
        }
        Ok(counts)
    }

    /// Copies every row of `from` into this store. A store that holds any row is refused
    /// unless `force`, which first empties it (in the same transaction).
    pub async fn copy_from(
        &self,
        from: &Store,
        force: bool,
    ) -> Result<Vec<(&'static str, i64)>, CopyError> {
        let held: Vec<String> = self
            .table_counts()
            .await?
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(table, n)| format!("{n} rows in {table}"))
            .collect();
        if !held.is_empty() && !force {
            return Err(CopyError::NotEmpty(held.join(", ")));
        }
        let mut tx = self.begin().await.map_err(CopyError::Store)?;
        // The audit trail is never deleted: `--force` keeps the target's rows, and the
        // source's are added after them (in their order, with new ids).
        for (table, _) in TABLES.iter().rev().filter(|(t, _)| *t != AUDIT) {
            let sql = format!("DELETE FROM {table}");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        }
        let mut copied = Vec::new();
        for (table, columns) in TABLES {
            let columns: Vec<(&str, Kind)> = columns
                .iter()
                .copied()
                .filter(|(name, _)| *table != AUDIT || *name != "id")
                .collect();
            let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            let order = match *table == AUDIT {
                true => " ORDER BY id",
                false => "",
            };
            let select = format!("SELECT {} FROM {table}{order}", names.join(", "));
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&from.pool);
            let mut chunk: Vec<Vec<Value>> = Vec::with_capacity(ROWS_PER_INSERT);
            let mut count = 0;
            loop {
                let row = rows.try_next().await.map_err(StoreError::from)?;
                if let Some(row) = &row {
                    let values = columns
                        .iter()
                        .map(|(name, kind)| match kind {
                            Text => row.try_get(*name).map(Value::Text),
                            Int => row.try_get(*name).map(Value::Int),
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(StoreError::from)?;
                    chunk.push(values);
                }
                if chunk.len() == ROWS_PER_INSERT || (row.is_none() && !chunk.is_empty()) {
                    count += chunk.len() as i64;
                    let insert = format!(
                        "INSERT INTO {table} ({}) VALUES {}",
                        names.join(", "),
                        super::value_rows(self.engine, chunk.len(), names.len())
                    );
                    // Table and column names are the constants above; every value is bound.
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(insert));
                    for value in chunk.drain(..).flatten() {
                        query = match value {
                            Value::Text(v) => query.bind(v),
                            Value::Int(v) => query.bind(v),
                        };
                    }
                    query.execute(&mut *tx).await.map_err(StoreError::from)?;
                }
                if row.is_none() {
                    break;
                }
            }
            copied.push((*table, count));
        }
        if self.engine == Engine::Postgres {
            // New deliveries continue after the highest id copied.
            sqlx::query(
                "SELECT setval(pg_get_serial_sequence('deliveries', 'id'),
                               COALESCE((SELECT max(id) FROM deliveries), 0) + 1, false)",
            )
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        // Running instances pick up the copied schedules and windows.
        sqlx::query("UPDATE change_counters SET value = value + 1 WHERE name = 'schedules'")
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(copied)
    }
}
