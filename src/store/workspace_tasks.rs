//! Workspace's scheduled tasks as last read, and each workspace's last read of the list. A
//! task's row changes only through [`Store::replace_task`], a compare-and-swap on the row as
//! the caller last saw it: of several instances that notice the same change, one records it
//! (and the cancellations and notices that go with it).

use chrono::{DateTime, Utc};

use super::cells::Cells;
use super::deliveries::NewDelivery;
use super::rows::{Claimed, target_from_row};
use super::time::stored_time;
use super::{Store, StoreError};
use crate::domain::workspace_task::{ApplyObject, WorkspaceTask};
use crate::domain::{ScheduleId, Target};

/// A followed task: its workspace, the task, and why it gets no warnings (None: it does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredTask {
    pub workspace: String,
    pub task: WorkspaceTask,
    pub problem: Option<String>,
}

/// The last read of a workspace's task list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskPoll {
    pub workspace: String,
    pub polled_at: String,
    /// The last read that worked.
    pub ok_at: Option<String>,
    /// The error of the last read; None when it worked.
    pub error: Option<String>,
}

const COLUMNS: &str = "workspace, task_id, task_name, task_type, scheduled_type, enabled, next_execution_time, time_zone, objects, problem";

/// Binds what a compare-and-swap compares, in column order: name, type, scheduled type,
/// enabled, next execution time, zone, objects.
fn bind_fields<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    t: &'q StoredTask,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let objects = serde_json::to_string(&t.task.objects).expect("plain values serialize");
    query
        .bind(&t.task.name)
        .bind(&t.task.task_type)
        .bind(&t.task.scheduled_type)
        .bind(i64::from(t.task.enabled))
        .bind(&t.task.next_execution_time)
        .bind(&t.task.time_zone)
        .bind(objects)
}

fn task_from_row(row: &sqlx::any::AnyRow) -> Result<StoredTask, StoreError> {
    let c = Cells::new("workspace_tasks", row);
    let objects: String = c.get("objects")?;
    let objects: Vec<ApplyObject> =
        serde_json::from_str(&objects).map_err(|e| c.corrupt("objects", e))?;
    let enabled: i64 = c.get("enabled")?;
    Ok(StoredTask {
        workspace: c.get("workspace")?,
        task: WorkspaceTask {
            id: c.get("task_id")?,
            name: c.get("task_name")?,
            task_type: c.get("task_type")?,
            scheduled_type: c.get("scheduled_type")?,
            enabled: enabled != 0,
            next_execution_time: c.get("next_execution_time")?,
            time_zone: c.get("time_zone")?,
            objects,
        },
        problem: c.get("problem")?,
    })
}

impl Store {
    /// Every followed task, by workspace and id.
    pub(crate) async fn workspace_tasks(&self) -> Result<Vec<StoredTask>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM workspace_tasks ORDER BY workspace, task_id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        self.readable(rows.iter().map(task_from_row))
    }

    /// Records that `old` (as last seen; None: a task not followed yet) is now `new` (None:
    /// gone), with `rows` (cancelled warnings, cancel notices) and the pending warnings of
    /// the task's old run between `closing` closed as cancelled, in one transaction. Returns
    /// None when the row was not as `old` said (another instance recorded the change first),
    /// else the pending rows inserted, for the caller to carry.
    pub(crate) async fn replace_task(
        &self,
        old: Option<&StoredTask>,
        new: Option<&StoredTask>,
        rows: &[NewDelivery],
        closing: &[(ScheduleId, DateTime<Utc>, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<Claimed>>, StoreError> {
        let mut tx = self.begin().await?;
        let swapped = match (old, new) {
            (None, None) => true,
            (None, Some(new)) => {
                let query = sqlx::query(
                    "INSERT INTO workspace_tasks (workspace, task_id, task_name, task_type, scheduled_type, enabled, next_execution_time, time_zone, objects, problem, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (workspace, task_id) DO NOTHING",
                )
                .bind(&new.workspace)
                .bind(&new.task.id);
                bind_fields(query, new)
                    .bind(&new.problem)
                    .bind(stored_time(now))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1
            }
            (Some(old), new) => {
                let matches = "workspace = $1 AND task_id = $2 AND task_name = $3 AND task_type = $4 AND scheduled_type = $5 AND enabled = $6 AND next_execution_time = $7 AND time_zone = $8 AND objects = $9";
                let sql = match new {
                    None => format!("DELETE FROM workspace_tasks WHERE {matches}"),
                    Some(_) => format!(
                        "UPDATE workspace_tasks SET task_name = $10, task_type = $11, scheduled_type = $12, enabled = $13, next_execution_time = $14, time_zone = $15, objects = $16, problem = $17, updated_at = $18 WHERE {matches}"
                    ),
                };
                // Only constant text is formatted in; every value is bound.
                let query = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&old.workspace)
                    .bind(&old.task.id);
                let mut query = bind_fields(query, old);
                if let Some(new) = new {
                    query = bind_fields(query, new)
                        .bind(&new.problem)
                        .bind(stored_time(now));
                }
                query.execute(&mut *tx).await?.rows_affected() == 1
            }
        };
        if !swapped {
            tx.rollback().await?;
            return Ok(None);
        }
        for ((rule, from, to), old) in closing.iter().zip(std::iter::repeat(old).flatten()) {
            sqlx::query(
                "UPDATE deliveries SET status = 'cancelled', finished_at = $1, error_msg = 'the Workspace task moved or was removed'
                 WHERE schedule_id = $2 AND workspace = $3 AND workspace_task = $4 AND status = 'pending'
                   AND due_at >= $5 AND due_at < $6",
            )
            .bind(stored_time(now))
            .bind(rule.as_str())
            .bind(&old.workspace)
            .bind(&old.task.id)
            .bind(stored_time(*from))
            .bind(stored_time(*to))
            .execute(&mut *tx)
            .await?;
        }
        let mut claimed = Vec::new();
        if !rows.is_empty() {
            claimed = self.insert_chunk(&mut tx, rows, &stored_time(now)).await?;
        }
        tx.commit().await?;
        Ok(Some(claimed))
    }

    /// The targets warnings of `rule` about `task_id` went out to, due in `[from, to)`: where a
    /// cancel notice goes.
    pub(crate) async fn task_warning_targets(
        &self,
        (rule, workspace, task_id): (&str, &str, &str),
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Target>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, pool_id, target, desktop_ids, maintenance_mode FROM deliveries
             WHERE schedule_id = $1 AND workspace = $2 AND workspace_task = $3
               AND status IN ('sent', 'dry_run') AND due_at >= $4 AND due_at < $5
             ORDER BY id",
        )
        .bind(rule)
        .bind(workspace)
        .bind(task_id)
        .bind(stored_time(from))
        .bind(stored_time(to))
        .fetch_all(&self.pool)
        .await?;
        let mut targets: Vec<Target> = Vec::new();
        for row in &rows {
            let target = target_from_row(&Cells::new("deliveries", row))?;
            if !targets.iter().any(|t| t.key() == target.key()) {
                targets.push(target);
            }
        }
        Ok(targets)
    }

    /// Records a read of `workspace`'s task list at `now`: `error` None when it worked.
    pub(crate) async fn record_task_poll(
        &self,
        workspace: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = stored_time(now);
        let ok_at = error.is_none().then_some(now.as_str());
        sqlx::query(
            "INSERT INTO workspace_task_polls (workspace, polled_at, ok_at, error_msg) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace) DO UPDATE SET polled_at = $2, ok_at = COALESCE($3, workspace_task_polls.ok_at), error_msg = $4",
        )
        .bind(workspace)
        .bind(&now)
        .bind(ok_at)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Each workspace's last read of its task list.
    pub(crate) async fn task_polls(&self) -> Result<Vec<TaskPoll>, StoreError> {
        let rows = sqlx::query(
            "SELECT workspace, polled_at, ok_at, error_msg FROM workspace_task_polls ORDER BY workspace",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let c = Cells::new("workspace_task_polls", row);
                Ok(TaskPoll {
                    workspace: c.get("workspace")?,
                    polled_at: c.get("polled_at")?,
                    ok_at: c.get("ok_at")?,
                    error: c.get("error_msg")?,
                })
            })
            .collect()
    }
}
