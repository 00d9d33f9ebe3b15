//! `schedule import`: many schedules and windows written in one transaction, all or none.

use chrono::{DateTime, Utc};

use super::stored_schedules::insert_schedule_in;
use super::stored_windows::insert_window_in;
use super::{Store, StoreError, StoredSchedule, StoredWindow};

/// What an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Imported {
    pub schedules: usize,
    pub windows: usize,
    /// Entries that replaced one with the same id.
    pub replaced: usize,
}

impl Store {
    /// Writes every schedule and window, or nothing: `Ok(Err(id))` names the first id that is
    /// taken when `replace` is off. With `replace`, an entry with the same id is replaced.
    pub(crate) async fn import(
        &self,
        schedules: &[StoredSchedule],
        windows: &[StoredWindow],
        replace: bool,
        now: DateTime<Utc>,
    ) -> Result<Result<Imported, String>, StoreError> {
        let mut tx = self.begin().await?;
        let mut done = Imported::default();
        let ids = schedules
            .iter()
            .map(|s| s.id.as_str())
            .chain(windows.iter().map(|w| w.id.as_str()));
        if replace {
            for id in ids {
                for table in ["schedules", "maintenance_windows"] {
                    let sql = format!("DELETE FROM {table} WHERE id = $1");
                    // The table name is a constant; the id is bound.
                    let gone = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    done.replaced += gone.rows_affected() as usize;
                }
            }
        }
        for s in schedules {
            if !insert_schedule_in(&mut tx, s, now).await? {
                tx.rollback().await?;
                return Ok(Err(s.id.clone()));
            }
            done.schedules += 1;
        }
        for w in windows {
            if !insert_window_in(&mut tx, w, now).await? {
                tx.rollback().await?;
                return Ok(Err(w.id.clone()));
            }
            done.windows += 1;
        }
        tx.commit().await?;
        Ok(Ok(done))
    }
}
