//! `recipients` rows: one per desktop of a delivery, written when its job's result is known
//! and, for a resolved audience, planned at the claim (who it goes to, who was left out and
//! why) and written right after it.

use chrono::{DateTime, Utc};

use super::time::stored_time;
use super::{NewDelivery, Store, StoreError};
use crate::domain::job::Recipient;
use crate::domain::{ScheduleId, WorkspaceName};

/// Rows per INSERT of recipients: 8 parameters each, far below SQLite's limit.
const RECIPIENT_CHUNK: usize = 500;

/// The recipients a claim's rows carry, each with the key of its delivery.
pub struct PlannedRecipients {
    schedule_id: ScheduleId,
    workspace: WorkspaceName,
    target: String,
    due_at: DateTime<Utc>,
    recipients: Vec<Recipient>,
}

/// Takes the planned recipients out of `batch` (to write after the claim).
pub fn planned_recipients(batch: &mut [NewDelivery]) -> Vec<PlannedRecipients> {
    batch
        .iter_mut()
        .filter_map(|new| {
            let audience = new.audience.as_mut().filter(|a| !a.recipients.is_empty())?;
            Some(PlannedRecipients {
                schedule_id: new.schedule_id.clone(),
                workspace: new.workspace.clone(),
                target: new.target.key(),
                due_at: new.due_at,
                recipients: std::mem::take(&mut audience.recipients),
            })
        })
        .collect()
}

/// Recipients written per transaction: short write locks, few commits.
const PLANNED_PER_TRANSACTION: usize = 5000;

impl Store {
    /// Writes the recipients planned at a claim, for the rows that exist (a row another
    /// instance inserted first gets the same rows once). A recipient already there (the job's
    /// own word) is kept.
    pub async fn record_planned_recipients(
        &self,
        planned: &[PlannedRecipients],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now_text = stored_time(now);
        let mut rest = planned;
        while !rest.is_empty() {
            let mut take = 0;
            let mut rows = 0;
            while take < rest.len()
                && (take == 0 || rows + rest[take].recipients.len() <= PLANNED_PER_TRANSACTION)
            {
                rows += rest[take].recipients.len();
                take += 1;
            }
            let (now_part, later) = rest.split_at(take);
            rest = later;
            let mut tx = self.begin().await?;
            for p in now_part {
                let id: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM deliveries WHERE schedule_id = $1 AND workspace = $2 AND target = $3 AND due_at = $4",
                )
                .bind(p.schedule_id.as_str())
                .bind(p.workspace.as_str())
                .bind(&p.target)
                .bind(stored_time(p.due_at))
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = id {
                    self.insert_recipients(&mut tx, id, &p.recipients, (&now_text, false))
                        .await?;
                }
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

impl Store {
    /// Writes a delivery's `recipients` rows, in chunks; a row already there is updated when
    /// `replace`, else kept.
    pub(super) async fn insert_recipients(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        delivery_id: i64,
        recipients: &[Recipient],
        (now_text, replace): (&str, bool),
    ) -> Result<(), StoreError> {
        for chunk in recipients.chunks(RECIPIENT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO recipients (delivery_id, desktop_id, user_name, desktop_name, status, error_code, fail_reason, updated_at) VALUES ",
            );
            sql.push_str(&super::value_rows(self.engine, chunk.len(), 8));
            sql.push_str(match replace {
                true => {
                    " ON CONFLICT (delivery_id, desktop_id) DO UPDATE SET user_name = excluded.user_name,
                   desktop_name = excluded.desktop_name, status = excluded.status,
                   error_code = excluded.error_code, fail_reason = excluded.fail_reason,
                   updated_at = excluded.updated_at"
                }
                false => " ON CONFLICT (delivery_id, desktop_id) DO NOTHING",
            });
            // Only placeholders are generated; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                query = query
                    .bind(delivery_id)
                    .bind(&r.desktop_id)
                    .bind(&r.user_name)
                    .bind(&r.desktop_name)
                    .bind(&r.status)
                    .bind(&r.error_code)
                    .bind(&r.fail_reason)
                    .bind(now_text);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }
}
