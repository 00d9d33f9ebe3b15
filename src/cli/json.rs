//! The one JSON vocabulary of `--json` (documented, shape by shape, in `docs/json.md`, and held
//! to it by a test): each thing has one shape whichever command prints it, times are UTC RFC
//! 3339 with milliseconds only when present, durations are `_seconds` numbers, absent values
//! are null.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::maintenance::{PartKind, Upcoming, WindowSpec};
use crate::domain::schedule::{ScheduleSpec, Source};
use crate::store::{DeliveryRow, format_time};

/// A stored time as printed: re-spelled like every other time (a value that is not a time is
/// printed as it is stored).
fn stored(text: &str) -> Value {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => Value::String(format_time(t.to_utc())),
        Err(_) => Value::String(text.to_owned()),
    }
}

fn stored_opt(text: Option<&str>) -> Value {
    text.map_or(Value::Null, stored)
}

/// What a schedule is doing: `active`, `paused` (a database schedule turned off, or any
/// schedule under a pause or the freeze in `pauses`) or `disabled` (a file schedule with
/// `enabled = false`).
pub(super) fn state_name(spec: &ScheduleSpec, pauses: &[crate::store::Pause]) -> &'static str {
    let paused = || {
        pauses
            .iter()
            .any(|p| p.schedule_id == spec.id.as_str() || p.schedule_id == crate::store::FREEZE)
    };
    match (spec.enabled, spec.source) {
        (true, _) => "active",
        (false, Source::Database) => "paused",
        (false, Source::File | Source::Workspace) if paused() => "paused",
        (false, Source::File | Source::Workspace) => "disabled",
    }
}

/// SCHEDULE: a schedule and its next fire times (`upcoming`, the first of them is `next`).
pub(super) fn schedule(
    spec: &ScheduleSpec,
    fires: &[DateTime<Utc>],
    pauses: &[crate::store::Pause],
) -> Value {
    json!({
        "id": spec.id.as_str(), "kind": "schedule", "source": spec.source.as_str(),
        "workspace": spec.workspace.as_str(),
        "state": state_name(spec, pauses), "trigger": spec.describe_trigger(),
        "timezone": spec.timezone.name(),
        "pools": spec.pools.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "desktops": spec.desktops.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        "selector": selector(&spec.audience),
        "message": spec.message(),
        "misfire_grace_seconds": spec.misfire_grace.as_secs_f64(),
        "catch_up": spec.catch_up.as_str(),
        "next": fires.first().map(|t| format_time(*t)),
        "upcoming": fires.iter().map(|t| json!({
            "due_at": format_time(*t),
            "local": t.with_timezone(&spec.timezone).to_rfc3339(),
        })).collect::<Vec<_>>(),
    })
}

/// A schedule's or window's selectors and audience as text; null for static targets alone.
fn selector(audience: &crate::domain::audience::AudienceSpec) -> Option<String> {
    let text = audience.describe();
    (!text.is_empty()).then_some(text)
}

/// The kind of a window's message: `warning` (with `lead_seconds`), `start` or `end`.
fn part(kind: PartKind, window: &WindowSpec) -> (&'static str, Option<u64>) {
    match kind {
        PartKind::Warning(i) => ("warning", Some(window.leads[i].as_secs())),
        PartKind::Start => ("start", None),
        PartKind::End => ("end", None),
    }
}

/// WINDOW: a maintenance window and the messages it will send (`upcoming`; the first one not
/// cancelled is `next`).
pub(super) fn window(window: &WindowSpec, upcoming: &[Upcoming]) -> Value {
    json!({
        "id": window.id.as_str(), "kind": "maintenance_window", "source": window.source.as_str(),
        "workspace": window.workspace.as_str(),
        "state": match (window.cancelled.all, window.paused) {
            (true, _) => "cancelled",
            (false, true) => "paused",
            (false, false) => "active",
        },
        "starts": window.starts_description(), "duration_seconds": window.duration.as_secs(),
        "timezone": window.timezone.name(),
        "pools": window.pools.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "desktops": window.desktops.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        "selector": selector(&window.audience),
        "maintenance_mode": window.maintenance_mode,
        "next": upcoming.iter().find(|u| !u.cancelled).map(|u| format_time(u.due_at)),
        "upcoming": upcoming.iter().map(|u| {
            let (kind, lead) = part(u.kind, window);
            json!({
                "due_at": format_time(u.due_at),
                "local": u.due_at.with_timezone(&window.timezone).to_rfc3339(),
                "window_start": format_time(u.window_start),
                "kind": kind, "lead_seconds": lead, "text": u.text, "cancelled": u.cancelled,
            })
        }).collect::<Vec<_>>(),
    })
}

/// DELIVERY: one `deliveries` row, under its column names (`pool_id` holds the target key,
/// e.g. `desktops:0`, for a delivery to desktops).
pub(crate) fn delivery(r: &DeliveryRow) -> Value {
    json!({
        "id": r.id, "schedule_id": r.schedule_id, "workspace": r.workspace, "pool_id": r.pool_id,
        "parent_id": r.parent_id,
        "due_at": stored(&r.due_at), "status": r.status, "attempts": r.attempts,
        "job_id": r.job_id, "http_status": r.http_status, "error_code": r.error_code,
        "error_msg": r.error_msg, "request_id": r.request_id, "message": r.message,
        "created_at": stored(&r.created_at), "finished_at": stored_opt(r.finished_at.as_deref()),
        "job_status": r.job_status, "job_result": r.job_result,
        "desktops_total": r.desktops_total, "desktops_ok": r.desktops_ok,
        "desktops_failed": r.desktops_failed,
        "job_finished_at": stored_opt(r.job_finished_at.as_deref()), "job_error": r.job_error,
        "selector": r.selector, "audience_matched": r.audience_matched,
        "audience_targeted": r.audience_targeted,
        "workspace_task": r.workspace_task,
    })
}

/// ATTEMPT: one `attempts` row.
pub(crate) fn attempt(a: &crate::store::AttemptRow) -> Value {
    json!({
        "attempt": a.attempt, "started_at": stored(&a.started_at),
        "finished_at": stored(&a.finished_at), "http_status": a.http_status,
        "error_code": a.error_code, "error_msg": a.error_msg, "request_id": a.request_id,
    })
}

/// RECIPIENT: one desktop of a followed job.
pub(crate) fn recipient(r: &crate::domain::job::Recipient) -> Value {
    json!({
        "desktop_id": r.desktop_id, "user_name": r.user_name, "desktop_name": r.desktop_name,
        "status": r.status, "error_code": r.error_code, "fail_reason": r.fail_reason,
    })
}

/// Prints `doc`, pretty (also when the words of the command are held back, see
/// `term::json_only`).
pub(super) fn print(doc: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(doc).expect("JSON values serialize")
    );
}

/// The deliveries `ids` as they are now recorded, as `[DELIVERY]`.
pub(crate) async fn deliveries(
    config: &crate::config::Config,
    ids: &[i64],
) -> Result<Value, crate::store::StoreError> {
    let store = crate::engine::wiring::open_store(config).await?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = store.delivery(*id).await? {
            rows.push(delivery(&row));
        }
    }
    store.close().await;
    Ok(Value::Array(rows))
}
