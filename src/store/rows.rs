//! How `deliveries` rows map to values: the one place that knows their columns, for the
//! claiming side (`deliveries.rs`) and the reading side (`history.rs`) alike.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StoreError;
use super::time::parse_time;
use crate::domain::{DesktopId, PoolId, ScheduleId, Target};

/// A delivery this process now owns and must carry to an end.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub schedule_id: ScheduleId,
    pub target: Target,
    pub due_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub message: String,
    /// Attempts already made (non-zero when resuming after a restart).
    pub attempts: u32,
    /// The instance that claimed it (`claimed_by`).
    pub owner: Option<String>,
    /// See `NewDelivery::may_be_cancelled`.
    pub may_be_cancelled: bool,
}

/// The columns of a [`DeliveryRow`], in a `SELECT`.
pub(super) const DELIVERY_COLUMNS: &str = "id, schedule_id, pool_id, target, parent_id, due_at, message, status, attempts, job_id, http_status, error_code, error_msg, request_id, created_at, finished_at, job_status, job_result, desktops_total, desktops_ok, desktops_failed, job_finished_at, job_error, job_next_poll_at";

/// A full `deliveries` row.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub schedule_id: String,
    /// The pool, or for a desktop target its `target` key (`desktops:0`, `resend:41:0`).
    pub pool_id: String,
    /// For a re-send: the delivery it re-sends.
    pub parent_id: Option<i64>,
    pub due_at: String,
    pub message: String,
    pub status: String,
    pub attempts: i64,
    pub job_id: Option<String>,
    pub http_status: Option<i64>,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub request_id: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// The job's last status word, and its result once followed to the end.
    pub job_status: Option<String>,
    pub job_result: Option<String>,
    pub desktops_total: Option<i64>,
    pub desktops_ok: Option<i64>,
    pub desktops_failed: Option<i64>,
    pub job_finished_at: Option<String>,
    pub job_error: Option<String>,
    /// True while the job is being followed.
    pub job_following: bool,
}

impl DeliveryRow {
    /// The desktops' outcome for people: `498/500`, `498/500 partial`, `following`, `unknown`.
    pub fn desktops_summary(&self) -> String {
        match (
            self.job_result.as_deref(),
            self.desktops_ok,
            self.desktops_total,
        ) {
            (Some("ok"), Some(ok), Some(total)) => format!("{ok}/{total}"),
            (Some(result), Some(ok), Some(total)) => format!("{ok}/{total} {result}"),
            (Some(result), _, _) => result.to_owned(),
            (None, _, _) if self.job_following => "following".to_owned(),
            (None, _, _) => "-".to_owned(),
        }
    }
}

pub(super) fn delivery_from_row(row: &AnyRow) -> DeliveryRow {
    DeliveryRow {
        id: row.get("id"),
        schedule_id: row.get("schedule_id"),
        pool_id: row
            .get::<Option<String>, _>("pool_id")
            .unwrap_or_else(|| row.get("target")),
        parent_id: row.get("parent_id"),
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
        job_status: row.get("job_status"),
        job_result: row.get("job_result"),
        desktops_total: row.get("desktops_total"),
        desktops_ok: row.get("desktops_ok"),
        desktops_failed: row.get("desktops_failed"),
        job_finished_at: row.get("job_finished_at"),
        job_error: row.get("job_error"),
        job_following: row.get::<Option<String>, _>("job_next_poll_at").is_some(),
    }
}

pub(super) fn claimed_from_row(row: &AnyRow) -> Result<Claimed, StoreError> {
    let text = |col: &'static str| -> String { row.get(col) };
    let corrupt = |column: &'static str, value: String| StoreError::Corrupt { column, value };
    Ok(Claimed {
        id: row.get("id"),
        schedule_id: ScheduleId::parse(&text("schedule_id"))
            .map_err(|_| corrupt("schedule_id", text("schedule_id")))?,
        target: target_from_row(row)?,
        due_at: parse_time("due_at", &text("due_at"))?,
        deadline_at: parse_time("deadline_at", &text("deadline_at"))?,
        message: text("message"),
        attempts: row.get::<i64, _>("attempts").max(0) as u32,
        owner: row.get("claimed_by"),
        may_be_cancelled: true,
    })
}

/// A delivery's target from `pool_id`, `target` and `desktop_ids`.
pub(super) fn target_from_row(row: &AnyRow) -> Result<Target, StoreError> {
    let corrupt = |column: &'static str, value: String| StoreError::Corrupt { column, value };
    let pool: Option<String> = row.get("pool_id");
    if let Some(pool) = pool {
        return PoolId::parse(&pool)
            .map(Target::Pool)
            .map_err(|_| corrupt("pool_id", pool));
    }
    let label: String = row.get("target");
    let ids_text: Option<String> = row.get("desktop_ids");
    let ids_text = ids_text.unwrap_or_default();
    let ids: Vec<String> =
        serde_json::from_str(&ids_text).map_err(|_| corrupt("desktop_ids", ids_text.clone()))?;
    let ids = ids
        .iter()
        .map(|id| DesktopId::parse(id).map_err(|_| corrupt("desktop_ids", id.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Target::Desktops { label, ids })
}
