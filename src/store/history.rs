//! Reading deliveries back for `history`.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::deliveries::{DeliveryRow, Status};
use super::{Store, StoreError};

pub(super) const SELECT_DELIVERY_BY_ID: &str =
    "SELECT id, schedule_id, pool_id, due_at, message, status, attempts, job_id,
        http_status, error_code, error_msg, request_id, created_at, finished_at
 FROM deliveries WHERE id = ?";

#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub schedule_id: Option<String>,
    pub status: Option<Status>,
    pub limit: u32,
}

pub type HistoryRow = DeliveryRow;

impl Store {
    /// Deliveries, newest due time first.
    pub async fn history(&self, filter: &HistoryFilter) -> Result<Vec<HistoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, schedule_id, pool_id, due_at, message, status, attempts, job_id,
                    http_status, error_code, error_msg, request_id, created_at, finished_at
             FROM deliveries
             WHERE (?1 IS NULL OR schedule_id = ?1) AND (?2 IS NULL OR status = ?2)
             ORDER BY julianday(due_at) DESC, id DESC
             LIMIT ?3",
        )
        .bind(&filter.schedule_id)
        .bind(filter.status.map(Status::as_str))
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(delivery_from_row).collect())
    }
}

pub(super) fn delivery_from_row(row: &SqliteRow) -> DeliveryRow {
    DeliveryRow {
        id: row.get("id"),
        schedule_id: row.get("schedule_id"),
        pool_id: row.get("pool_id"),
        due_at: row.get("due_at"),
        message: row.get("message"),
        status: row.get("status"),
        attempts: row.get("attempts"),
        job_id: row.get("job_id"),
        http_status: row.get("http_status"),
        error_code: row.get("error_code"),
        error_msg: row.get("error_msg"),
        request_id: row.get("request_id"),
        created_at: row.get("created_at"),
        finished_at: row.get("finished_at"),
    }
}
