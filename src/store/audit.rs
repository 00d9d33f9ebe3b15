//! The audit trail: one row per change, from the command line or the API, only ever inserted
//! (the migrations' triggers refuse updates and deletes).

use chrono::{DateTime, Utc};

use super::cells::Cells;
use super::time::{stored_time, stored_time_ceil};
use super::{Store, StoreError};

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `unix:USER` from the command line, the token's name from the API.
    pub actor: String,
    /// `schedule.pause`, `window.cancel`, `token.create`, ...
    pub action: String,
    /// The schedule's, window's or token's id, or the delivery id.
    pub object: String,
    /// What changed, in a line.
    pub summary: String,
    /// Why (`--note`, or `note` in an API body).
    pub note: Option<String>,
}

impl Store {
    pub async fn record_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, object, summary, note) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(stored_time(e.at))
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.object)
        .bind(&e.summary)
        .bind(&e.note)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest `limit` entries at or after `since` (all when None), newest first; `object`
    /// narrows to one schedule, window, token or delivery.
    pub async fn audit(
        &self,
        since: Option<DateTime<Utc>>,
        object: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, action, object, summary, note FROM audit
             WHERE ($1 IS NULL OR at >= $2) AND ($3 IS NULL OR object = $4)
             ORDER BY at DESC, id DESC LIMIT $5",
        )
        .bind(since.map(stored_time_ceil))
        .bind(since.map(stored_time_ceil))
        .bind(object)
        .bind(object)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(|row| {
            let c = Cells::new("audit", row);
            Ok(AuditEntry {
                at: c.time("at")?,
                actor: c.get("actor")?,
                action: c.get("action")?,
                object: c.get("object")?,
                summary: c.get("summary")?,
                note: c.get("note")?,
            })
        }))
    }
}
