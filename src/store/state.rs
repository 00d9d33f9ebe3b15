//! Per-schedule progress: which occurrence was handled last, and the anchor of `every`
//! schedules. Written in the same transaction as the claims it describes.

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};
use std::collections::HashMap;

use super::cells::Cells;
use super::time::stored_time;
use super::{Store, StoreError};
use crate::domain::ScheduleId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleState {
    /// When the schedule was first loaded: the anchor of an `every` without `start`.
    pub anchor_at: DateTime<Utc>,
    /// The last occurrence claimed or recorded missed.
    pub last_due_at: Option<DateTime<Utc>>,
}

impl Store {
    pub(super) async fn mark_progress(
        tx: &mut Transaction<'static, Any>,
        schedule: &ScheduleId,
        last_due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO schedule_state (schedule_id, anchor_at, last_due_at) VALUES ($1, $2, $3)
             ON CONFLICT (schedule_id) DO UPDATE SET last_due_at = excluded.last_due_at
             WHERE schedule_state.last_due_at IS NULL
                OR excluded.last_due_at > schedule_state.last_due_at",
        )
        .bind(schedule.as_str())
        .bind(stored_time(now))
        .bind(stored_time(last_due))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The state of every schedule that has one. Rows are read one at a time (100,000 rows
    /// fetched at once would hold every row's decoded values besides the map).
    pub async fn schedule_states(&self) -> Result<HashMap<String, ScheduleState>, StoreError> {
        use futures_util::TryStreamExt;
        let mut rows =
            sqlx::query("SELECT schedule_id, anchor_at, last_due_at FROM schedule_state")
                .fetch(&self.pool);
        let mut states = HashMap::new();
        while let Some(row) = rows.try_next().await? {
            let c = Cells::new("schedule_state", &row);
            let read = || -> Result<(String, ScheduleState), StoreError> {
                Ok((
                    c.get("schedule_id")?,
                    ScheduleState {
                        anchor_at: c.time("anchor_at")?,
                        last_due_at: c.optional_time("last_due_at")?,
                    },
                ))
            };
            if let Some((id, state)) = self.keep(read())? {
                states.insert(id, state);
            }
        }
        Ok(states)
    }

    /// Records `anchor` for schedules seen for the first time; existing rows keep theirs.
    /// Multi-row statements: 100,000 schedules are 200 statements, not 100,000.
    pub async fn ensure_states(
        &self,
        schedules: &[ScheduleId],
        anchor: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let anchor = stored_time(anchor);
        let mut tx = self.begin().await?;
        for chunk in schedules.chunks(STATE_ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO schedule_state (schedule_id, anchor_at) VALUES {} ON CONFLICT (schedule_id) DO NOTHING",
                super::value_rows(self.engine, chunk.len(), 2)
            );
            // Only placeholders are generated; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_str()).bind(&anchor);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the progress of schedules that no longer exist, so that one added again later
    /// under the same id starts as new instead of catching up on the time it was gone.
    pub async fn forget_states(&self, schedules: &[ScheduleId]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for chunk in schedules.chunks(STATE_ROWS_PER_STATEMENT) {
            let sql = format!(
                "DELETE FROM schedule_state WHERE schedule_id IN ({})",
                super::numbered(self.engine, 1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_str());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Rows per multi-row statement: 2 parameters each, well under SQLite's 32,766.
const STATE_ROWS_PER_STATEMENT: usize = 500;
