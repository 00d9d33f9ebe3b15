//! The maintenance-mode switches of windows with `maintenance_mode = true`: which occurrences
//! were switched on, and the switch-ons still to undo (a switch-off is a delivery whose
//! `parent_id` is the switch-on it undoes).

use chrono::{DateTime, Utc};

use super::cells::Cells;
use super::rows::target_from_row;
use super::time::stored_time;
use super::{Store, StoreError};
use crate::domain::{ScheduleId, Target, WorkspaceName};

/// A switch-on that may have put desktops into maintenance mode and has no switch-off yet.
#[derive(Debug, Clone)]
pub(crate) struct SwitchOn {
    pub id: i64,
    pub window: ScheduleId,
    pub workspace: WorkspaceName,
    pub target: Target,
    /// The window's start (the switch-on's due time) and end (its deadline).
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Store {
    /// True when the occurrence of `window` starting at `start` has its switch-on recorded
    /// (by this instance or another).
    pub(crate) async fn switched_on(
        &self,
        (window, workspace): (&str, &str),
        start: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM deliveries
             WHERE schedule_id = $1 AND workspace = $2 AND due_at = $3 AND maintenance_mode = 'on'",
        )
        .bind(window)
        .bind(workspace)
        .bind(stored_time(start))
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Every switch-on that may have reached Workspace (sent, dry run, or failed after an
    /// attempt: the request may have been carried out though its answer was lost) and has no
    /// switch-off. Only desktops not in maintenance mode beforehand are in a switch-on, so
    /// undoing one puts back what was there.
    pub(crate) async fn switch_ons_to_undo(&self) -> Result<Vec<SwitchOn>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.schedule_id, d.workspace, d.pool_id, d.target, d.desktop_ids, d.maintenance_mode, d.due_at, d.deadline_at
             FROM deliveries d
             WHERE d.maintenance_mode = 'on'
               AND (d.status IN ('sent', 'dry_run') OR (d.status = 'failed' AND d.attempts > 0))
               AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.parent_id = d.id AND o.maintenance_mode = 'off')
             ORDER BY d.id",
        )
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(|row| {
            let c = Cells::new("deliveries", row);
            let window: String = c.get("schedule_id")?;
            Ok(SwitchOn {
                id: c.get("id")?,
                window: ScheduleId::parse(&window).map_err(|e| c.corrupt("schedule_id", e))?,
                workspace: super::rows::workspace_from_row(&c)?,
                target: target_from_row(&c)?,
                start: c.time("due_at")?,
                end: c.time("deadline_at")?,
            })
        }))
    }
}
