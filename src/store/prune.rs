//! Retention: deliveries due before a cutoff go, with their attempts and recipients, in small
//! batches (each its own short transaction, so no lock is held for long). A delivery still
//! pending, one a newer or pending delivery refers to (a re-send, a switch-off), and a
//! maintenance-mode switch-on not yet undone are kept. On PostgreSQL one instance prunes at a
//! time (a transaction-scoped advisory lock); another finds it taken and leaves it.

use chrono::{DateTime, Utc};

use super::time::stored_time;
use super::{Engine, Store, StoreError};

/// Deliveries per batch.
const BATCH: i64 = 500;

/// The advisory-lock key of pruning (an arbitrary constant every instance shares).
const PRUNE_LOCK: i64 = 0x0077_6e70_7275_6e65;

/// What one prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pruned {
    pub deliveries: u64,
    pub attempts: u64,
    pub recipients: u64,
}

impl Store {
    /// Removes deliveries due before `cutoff` (see the module). Returns None when another
    /// instance is pruning (PostgreSQL).
    pub(crate) async fn prune(&self, cutoff: DateTime<Utc>) -> Result<Option<Pruned>, StoreError> {
        let cutoff = stored_time(cutoff);
        let mut total = Pruned::default();
        loop {
            let mut tx = self.begin().await?;
            if self.engine == Engine::Postgres {
                let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(PRUNE_LOCK)
                    .fetch_one(&mut *tx)
                    .await?;
                if !free {
                    tx.rollback().await?;
                    return Ok((total != Pruned::default()).then_some(total));
                }
            }
            // Newest first: a re-send (a higher id) goes in the same batch as its parent or
            // an earlier one, never after it.
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT d.id FROM deliveries d
                 WHERE d.due_at < $1 AND d.status <> 'pending'
                   AND NOT EXISTS (SELECT 1 FROM deliveries c WHERE c.parent_id = d.id
                                   AND (c.due_at >= $1 OR c.status = 'pending'))
                   AND NOT (d.maintenance_mode IS NOT NULL AND d.maintenance_mode = 'on'
                            AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.parent_id = d.id
                                            AND o.maintenance_mode = 'off'))
                 ORDER BY d.id DESC LIMIT $2",
            )
            .bind(&cutoff)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
            if ids.is_empty() {
                tx.commit().await?;
                return Ok(Some(total));
            }
            let list = super::numbered(self.engine, 1, ids.len());
            for (table, counter) in [
                ("attempts", &mut total.attempts),
                ("recipients", &mut total.recipients),
            ] {
                let sql = format!("DELETE FROM {table} WHERE delivery_id IN ({list})");
                // Only placeholders are formatted in; every id is bound.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in &ids {
                    query = query.bind(*id);
                }
                *counter += query.execute(&mut *tx).await?.rows_affected();
            }
            let sql = format!("DELETE FROM deliveries WHERE id IN ({list})");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(*id);
            }
            total.deliveries += query.execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
        }
    }
}
