//! Reading deliveries back for `history` and `show`.

use chrono::{DateTime, Utc};

use super::cells::Cells;
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
    /// Only deliveries to this workspace.
    pub workspace: Option<String>,
    /// Only deliveries due before this.
    pub until: Option<DateTime<Utc>>,
    /// Only deliveries to this pool or desktop (or with this target key).
    pub target: Option<String>,
    /// Rows skipped before the first returned (the console's pages).
    pub offset: u32,
}

/// The `WHERE` of `history`: `$1`..`$7` as [`bind_filter`] binds them.
const FILTER: &str = "($1 IS NULL OR schedule_id = $1) AND ($2 IS NULL OR status = $2)
    AND ($3 IS NULL OR due_at >= $3) AND ($4 IS NULL OR workspace = $4)
    AND ($5 IS NULL OR due_at < $5)
    AND ($6 IS NULL OR pool_id = $6 OR target = $6
         OR desktop_ids LIKE '%\"' || CAST($7 AS TEXT) || '\"%')";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind_filter<'q>(query: AnyQuery<'q>, filter: &'q HistoryFilter) -> AnyQuery<'q> {
    query
        .bind(&filter.schedule_id)
        .bind(filter.status.map(Status::as_str))
        .bind(filter.since.map(super::time::stored_time_ceil))
        .bind(&filter.workspace)
        .bind(filter.until.map(super::time::stored_time_ceil))
        .bind(&filter.target)
        .bind(&filter.target)
}

impl Store {
    /// Deliveries, newest due time first.
    pub async fn history(&self, filter: &HistoryFilter) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {FILTER} ORDER BY due_at DESC, id DESC LIMIT $8 OFFSET $9"
        );
        // The column list and the filter are constants; every value is bound.
        let rows = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .bind(i64::from(filter.limit))
            .bind(i64::from(filter.offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// [`Store::history`] one row at a time, handed to `each` as it is read: memory stays
    /// that of one row whatever the limit. Stops at the first error (`each`'s or the store's).
    pub async fn history_each<E: From<StoreError>>(
        &self,
        filter: &HistoryFilter,
        mut each: impl FnMut(DeliveryRow) -> Result<(), E>,
    ) -> Result<(), E> {
        use futures_util::StreamExt;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {FILTER} ORDER BY due_at DESC, id DESC LIMIT $8 OFFSET $9"
        );
        let query = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .bind(i64::from(filter.limit))
            .bind(i64::from(filter.offset));
        let mut rows = query.fetch(&self.pool);
        while let Some(row) = rows.next().await {
            let row = row.map_err(StoreError::from)?;
            each(delivery_from_row(&row)?)?;
        }
        Ok(())
    }

    /// How many deliveries `filter` matches, its limit aside (to say that a list was cut).
    pub(crate) async fn history_count(&self, filter: &HistoryFilter) -> Result<i64, StoreError> {
        let sql = format!("SELECT count(*) AS n FROM deliveries WHERE {FILTER}");
        let row = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .fetch_one(&self.pool)
            .await?;
        Cells::new("deliveries", &row).get("n")
    }

    /// One delivery by id.
    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    /// The delivery of `schedule_id` to `target` (its key) in `workspace` due at `due_at`.
    pub(crate) async fn delivery_at(
        &self,
        (schedule_id, workspace): (&str, &str),
        target: &str,
        due_at: DateTime<Utc>,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE schedule_id = $1 AND workspace = $2 AND target = $3 AND due_at = $4"
        );
        // The column list is a constant; every value is bound.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(schedule_id)
            .bind(workspace)
            .bind(target)
            .bind(super::time::stored_time(due_at))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    /// The re-sends of `parent_id` (automatic or manual), by id.
    pub async fn resends_of(&self, parent_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM deliveries WHERE parent_id = $1 ORDER BY id")
                .bind(parent_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Each schedule's most recent occurrence (re-sends left out), by schedule id.
    pub async fn last_occurrences(
        &self,
    ) -> Result<std::collections::HashMap<String, LastOccurrence>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.schedule_id, d.due_at, d.status, d.http_status, d.error_code, d.job_result,
                    d.desktops_ok, d.desktops_total, d.selector, d.audience_matched,
                    d.audience_targeted
             FROM deliveries d
             JOIN (SELECT schedule_id, MAX(due_at) AS latest FROM deliveries
                   WHERE parent_id IS NULL GROUP BY schedule_id) m
               ON d.schedule_id = m.schedule_id AND d.due_at = m.latest
             WHERE d.parent_id IS NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: std::collections::HashMap<String, LastOccurrence> = Default::default();
        for row in &rows {
            let c = Cells::new("deliveries", row);
            let entry = out.entry(c.get("schedule_id")?).or_default();
            entry.due_at = c.get("due_at")?;
            let status: String = c.get("status")?;
            if status == "failed" && entry.failure.is_none() {
                entry.failure = Some((c.get("http_status")?, c.get("error_code")?));
            }
            *entry.statuses.entry(status).or_default() += 1;
            if let Some(selector) = c.get::<Option<String>>("selector")? {
                let audience = entry.audience.get_or_insert_with(|| LastAudience {
                    selector,
                    ..LastAudience::default()
                });
                audience.matched = c.get::<Option<i64>>("audience_matched")?.unwrap_or(0);
                audience.targeted += c.get::<Option<i64>>("audience_targeted")?.unwrap_or(0);
            }
            if let Some(result) = c.get::<Option<String>>("job_result")? {
                entry.desktops_ok += c.get::<Option<i64>>("desktops_ok")?.unwrap_or(0);
                entry.desktops_total += c.get::<Option<i64>>("desktops_total")?.unwrap_or(0);
                if result != "ok" {
                    *entry.job_problems.entry(result).or_default() += 1;
                }
            }
        }
        Ok(out)
    }

    /// A delivery's attempts, in order.
    pub async fn attempts_of(&self, delivery_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT delivery_id, attempt, started_at, finished_at, http_status, error_code, error_msg, request_id
             FROM attempts WHERE delivery_id = $1 ORDER BY attempt",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let c = Cells::new("attempts", row);
                Ok(AttemptRow {
                    attempt: c.get("attempt")?,
                    started_at: c.get("started_at")?,
                    finished_at: c.get("finished_at")?,
                    http_status: c.get("http_status")?,
                    error_code: c.get("error_code")?,
                    error_msg: c.get("error_msg")?,
                    request_id: c.get("request_id")?,
                })
            })
            .collect()
    }
}

/// The most recent occurrence of a schedule (or window), over all its targets, for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastOccurrence {
    pub due_at: String,
    /// Deliveries per status.
    pub statuses: std::collections::BTreeMap<String, i64>,
    /// Summed over the deliveries whose job was followed to a result.
    pub desktops_ok: i64,
    pub desktops_total: i64,
    /// Job results other than `ok`, per result.
    pub job_problems: std::collections::BTreeMap<String, i64>,
    /// The HTTP status and error code of a failed delivery, if any.
    pub failure: Option<(Option<i64>, Option<String>)>,
    /// For a resolved audience: what it matched and how many desktops were sent to.
    pub audience: Option<LastAudience>,
}

/// The audience of a schedule's most recent occurrence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastAudience {
    pub selector: String,
    pub matched: i64,
    pub targeted: i64,
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
