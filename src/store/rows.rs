//! How `deliveries` rows map to values: the one place that knows their columns, for the
//! claiming side (`deliveries.rs`) and the reading side (`history.rs`) alike.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use super::StoreError;
use super::cells::Cells;
use crate::domain::template::Countdown;
use crate::domain::{DesktopId, PoolId, ScheduleId, Target, WorkspaceName};

/// A delivery this process now owns and must carry to an end.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub schedule_id: ScheduleId,
    /// The workspace it goes to: which client, signer and pacer send it.
    pub workspace: WorkspaceName,
    pub target: Target,
    pub due_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub message: String,
    /// A text rendered again when each request is made (maintenance countdowns).
    pub countdown: Option<Countdown>,
    /// Attempts already made (non-zero when resuming after a restart).
    pub attempts: u32,
    /// The instance that claimed it (`claimed_by`).
    pub owner: Option<String>,
    /// See `NewDelivery::may_be_cancelled`.
    pub may_be_cancelled: bool,
}

/// The columns of a [`DeliveryRow`], in a `SELECT`.
pub(super) const DELIVERY_COLUMNS: &str = "id, schedule_id, workspace, pool_id, target, parent_id, due_at, message, status, attempts, job_id, http_status, error_code, error_msg, request_id, created_at, finished_at, job_status, job_result, desktops_total, desktops_ok, desktops_failed, job_finished_at, job_error, job_next_poll_at, selector, audience_matched, audience_targeted, workspace_task";

/// A full `deliveries` row.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub schedule_id: String,
    /// The workspace it went to (`default` for rows from before there could be several).
    pub workspace: String,
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
    /// The audience's query as text (`tags=dept=finance;audience=connected`); None for static
    /// targets alone.
    pub selector: Option<String>,
    /// Desktops the selectors matched for the occurrence.
    pub audience_matched: Option<i64>,
    /// Desktops this delivery was sent to.
    pub audience_targeted: Option<i64>,
    /// The Workspace scheduled task a task warning (or its cancel notice) is about.
    pub workspace_task: Option<String>,
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

    /// The audience for people: `12/15 connected` (sent to of matched), `15/15`; None for
    /// static targets.
    pub fn audience_summary(&self) -> Option<String> {
        let selector = self.selector.as_deref()?;
        let (targeted, matched) = (self.audience_targeted?, self.audience_matched?);
        let connected = match selector.ends_with("audience=connected") {
            true => " connected",
            false => "",
        };
        Some(format!("{targeted}/{matched}{connected}"))
    }
}

pub(super) fn delivery_from_row(row: &AnyRow) -> Result<DeliveryRow, StoreError> {
    let c = Cells::new("deliveries", row);
    Ok(DeliveryRow {
        id: c.get("id")?,
        schedule_id: c.get("schedule_id")?,
        workspace: c.get("workspace")?,
        pool_id: match c.get::<Option<String>>("pool_id")? {
            Some(pool) => pool,
            None => c.get("target")?,
        },
        parent_id: c.get("parent_id")?,
        due_at: c.get("due_at")?,
        message: c.get("message")?,
        status: c.get("status")?,
        attempts: c.get("attempts")?,
        job_id: c.get("job_id")?,
        http_status: c.get("http_status")?,
        error_code: c.get("error_code")?,
        error_msg: c.get("error_msg")?,
        request_id: c.get("request_id")?,
        created_at: c.get("created_at")?,
        finished_at: c.get("finished_at")?,
        job_status: c.get("job_status")?,
        job_result: c.get("job_result")?,
        desktops_total: c.get("desktops_total")?,
        desktops_ok: c.get("desktops_ok")?,
        desktops_failed: c.get("desktops_failed")?,
        job_finished_at: c.get("job_finished_at")?,
        job_error: c.get("job_error")?,
        job_following: c.get::<Option<String>>("job_next_poll_at")?.is_some(),
        selector: c.get("selector")?,
        audience_matched: c.get("audience_matched")?,
        audience_targeted: c.get("audience_targeted")?,
        workspace_task: c.get("workspace_task")?,
    })
}

pub(super) fn claimed_from_row(row: &AnyRow) -> Result<Claimed, StoreError> {
    let c = Cells::new("deliveries", row);
    let schedule_id: String = c.get("schedule_id")?;
    Ok(Claimed {
        id: c.get("id")?,
        schedule_id: ScheduleId::parse(&schedule_id).map_err(|e| c.corrupt("schedule_id", e))?,
        workspace: workspace_from_row(&c)?,
        target: target_from_row(&c)?,
        due_at: c.time("due_at")?,
        deadline_at: c.time("deadline_at")?,
        message: c.get("message")?,
        countdown: countdown_from(&c)?,
        attempts: c.count("attempts")?,
        owner: c.get("claimed_by")?,
        may_be_cancelled: true,
    })
}

/// `countdown_to` and `countdown_text`, both or neither.
pub(super) fn countdown_from(c: &Cells<'_>) -> Result<Option<Countdown>, StoreError> {
    match (
        c.optional_time("countdown_to")?,
        c.get::<Option<String>>("countdown_text")?,
    ) {
        (Some(to), Some(text)) => Ok(Some(Countdown { to, text })),
        _ => Ok(None),
    }
}

impl Claimed {
    /// The text of a request made at `now`: the countdown rendered for that moment, or the
    /// planned text.
    pub(crate) fn text_at(&self, now: DateTime<Utc>) -> String {
        match &self.countdown {
            Some(countdown) => countdown.render_at(now),
            None => self.message.clone(),
        }
    }
}

/// A delivery's `workspace`.
pub(super) fn workspace_from_row(c: &Cells<'_>) -> Result<WorkspaceName, StoreError> {
    let name: String = c.get("workspace")?;
    WorkspaceName::parse(&name).map_err(|e| c.corrupt("workspace", e))
}

/// A delivery's target from `pool_id`, `target` and `desktop_ids`.
pub(super) fn target_from_row(c: &Cells<'_>) -> Result<Target, StoreError> {
    if let Some(pool) = c.get::<Option<String>>("pool_id")? {
        return PoolId::parse(&pool)
            .map(Target::Pool)
            .map_err(|e| c.corrupt("pool_id", e));
    }
    let label: String = c.get("target")?;
    let ids_text: Option<String> = c.get("desktop_ids")?;
    let ids = c.parsed_list("desktop_ids", ids_text.as_deref().unwrap_or_default())?;
    let ids = ids
        .iter()
        .map(|id| DesktopId::parse(id).map_err(|e| c.corrupt("desktop_ids", e)))
        .collect::<Result<Vec<_>, _>>()?;
    match c.get::<Option<String>>("maintenance_mode")?.as_deref() {
        None => Ok(Target::Desktops { label, ids }),
        Some("on") => Ok(Target::Mode {
            on: true,
            label,
            ids,
        }),
        Some("off") => Ok(Target::Mode {
            on: false,
            label,
            ids,
        }),
        Some(other) => Err(c.corrupt("maintenance_mode", format!("{other:?} is not on or off"))),
    }
}
