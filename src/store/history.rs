//! Reading deliveries back for `history` and `show`.

use super::rows::{DELIVERY_COLUMNS, DeliveryRow, delivery_from_row};
use super::{Store, StoreError};
use crate::domain::Status;

#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub schedule_id: Option<String>,
    pub status: Option<Status>,
    pub limit: u32,
}

impl Store {
    /// Deliveries, newest due time first.
    pub async fn history(&self, filter: &HistoryFilter) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE (?1 IS NULL OR schedule_id = ?1) AND (?2 IS NULL OR status = ?2)
             ORDER BY julianday(due_at) DESC, id DESC
             LIMIT ?3"
        );
        // The column list is a constant; every value is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.schedule_id)
            .bind(filter.status.map(Status::as_str))
            .bind(filter.limit)
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
}
