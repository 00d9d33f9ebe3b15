//! Reading deliveries back for `history` and `show`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{DELIVERY_COLUMNS, DeliveryRow, delivery_from_row};
use super::{Store, StoreError};
use crate::domain::Status;

#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub schedule_id: Option<String>,
    pub status: Option<Status>,
    pub limit: u32,
    /// Only deliveries due at or after this.
    pub since: Option<DateTime<Utc>>,
}

impl Store {
    /// Deliveries, newest due time first.
    pub async fn history(&self, filter: &HistoryFilter) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE (?1 IS NULL OR schedule_id = ?1) AND (?2 IS NULL OR status = ?2)
               AND (?4 IS NULL OR julianday(due_at) >= julianday(?4))
             ORDER BY julianday(due_at) DESC, id DESC
             LIMIT ?3"
        );
        // The column list is a constant; every value is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.schedule_id)
            .bind(filter.status.map(Status::as_str))
            .bind(filter.limit)
            .bind(filter.since.map(super::time::format_time))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(delivery_from_row).collect())
    }

    /// One delivery by id.
    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| delivery_from_row(&r)))
    }

    /// A delivery's attempts, in order.
    pub async fn attempts_of(&self, delivery_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, started_at, finished_at, http_status, error_code, error_msg, request_id
             FROM attempts WHERE delivery_id = ? ORDER BY attempt",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| AttemptRow {
                attempt: row.get("attempt"),
                started_at: row.get("started_at"),
                finished_at: row.get("finished_at"),
                http_status: row.get("http_status"),
                error_code: row.get("error_code"),
                error_msg: row.get("error_msg"),
                request_id: row.get("request_id"),
            })
            .collect())
    }
}

/// One `attempts` row, for `show`.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub attempt: i64,
    pub started_at: String,
    pub finished_at: String,
    pub http_status: Option<i64>,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub request_id: Option<String>,
}
