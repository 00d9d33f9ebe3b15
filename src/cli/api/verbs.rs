//! The API's routes for the rest of the command line's changing verbs: `POST /schedules` (a
//! `[[schedules]]` entry and `note`), `POST /send` (pools, desktops or selectors, or `test`),
//! `POST /maintenance/{id}/postpone`, `POST /maintenance/{id}/uncancel`, and `POST /freeze`
//! (`{"end": true}` ends it). Each goes through the command's own code.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

use super::{Answer, Api, ApiError, time_of};
use crate::cli::args::SelectorArgs;
use crate::cli::audit::Actor;
use crate::domain::access::Role;

/// The body as `T` after checking its keys against `keys` and `T`'s selectors (a key not
/// there is a 400 naming it: a typo must not be ignored).
pub(super) fn strict<T: serde::de::DeserializeOwned>(
    bytes: &axum::body::Bytes,
    keys: &[&str],
    what: &str,
) -> Result<T, ApiError> {
    const SELECTORS: [&str; 6] = [
        "tags",
        "enterprise_project",
        "users",
        "all_desktops",
        "audience",
        "max_audience",
    ];
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, None, message);
    let text = match bytes.iter().all(u8::is_ascii_whitespace) {
        true => &b"{}"[..],
        false => &bytes[..],
    };
    let value: Value = serde_json::from_slice(text)
        .map_err(|err| bad(format!("the body is not JSON ({what}): {err}")))?;
    let Some(object) = value.as_object() else {
        return Err(bad(format!("the body must be a JSON object ({what})")));
    };
    if let Some(unknown) = object
        .keys()
        .find(|k| !keys.contains(&k.as_str()) && !SELECTORS.contains(&k.as_str()))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Some(unknown),
            format!("unknown key {unknown:?} ({what})"),
        ));
    }
    serde_json::from_value(value).map_err(|err| bad(format!("the body is not {what}: {err}")))
}

/// A schedule to create: the config file's keys, and `note`.
#[derive(serde::Deserialize)]
struct ScheduleBody {
    id: String,
    cron: Option<String>,
    at: Option<String>,
    every: Option<String>,
    start: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    pools: Vec<String>,
    message: String,
    misfire_grace: Option<String>,
    catch_up: Option<String>,
    #[serde(default)]
    paused: bool,
    workspace: Option<String>,
    #[serde(default)]
    desktops: Vec<String>,
    resend_attempts: Option<i64>,
    resend_after: Option<String>,
    #[serde(flatten)]
    selectors: SelectorArgs,
    note: Option<String>,
}

const SCHEDULE_KEYS: [&str; 16] = [
    "id",
    "cron",
    "at",
    "every",
    "start",
    "timezone",
    "pools",
    "message",
    "misfire_grace",
    "catch_up",
    "paused",
    "workspace",
    "desktops",
    "resend_attempts",
    "resend_after",
    "note",
];

/// `POST /schedules`: the new schedule as `schedule list --json` shows it (201).
pub(super) async fn add_schedule(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = api.authorize(&headers, Role::Operator).await?;
    let b: ScheduleBody = strict(&bytes, &SCHEDULE_KEYS, "a schedule: the config file's keys")?;
    let stored = crate::store::StoredSchedule {
        id: b.id,
        cron: b.cron,
        at: b.at,
        every: b.every,
        start: b.start,
        timezone: b.timezone,
        pools: b.pools,
        message: b.message,
        misfire_grace: b.misfire_grace,
        paused: b.paused,
        catch_up: b.catch_up,
        extra: crate::store::StoredTargets {
            workspace: b.workspace,
            desktops: b.desktops,
            resend_attempts: b.resend_attempts,
            resend_after: b.resend_after,
            selectors: b.selectors.stored(),
        },
    };
    let config = api.config()?;
    let by = Actor { name, note: b.note };
    let spec = crate::cli::schedule::apply_add(&config, &by, &stored).await?;
    let now = Utc::now();
    let fires = spec.next_fires(None, now, now, 1);
    let doc = crate::cli::json::schedule(&spec, &fires, &[]);
    Ok((StatusCode::CREATED, Json(doc)))
}

/// A send: one pool, desktops or selectors and the text; or `test` (a schedule's next
/// message) to desktops.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct SendBody {
    pool: Option<String>,
    desktops: Vec<String>,
    message: String,
    workspace: Option<String>,
    schedule_id: Option<String>,
    test: Option<String>,
    #[serde(flatten)]
    selectors: SelectorArgs,
    note: Option<String>,
}

/// `POST /send`: the deliveries made, as `send --json` prints them (their outcome in
/// `status`; a failed send is still a 200 that says so).
pub(super) async fn send(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Answer {
    let name = api.authorize(&headers, Role::Operator).await?;
    let keys = [
        "pool",
        "desktops",
        "message",
        "workspace",
        "schedule_id",
        "test",
        "note",
    ];
    let b: SendBody = strict(&bytes, &keys, "a send")?;
    if b.pool.is_none() && b.desktops.is_empty() && !b.selectors.is_set() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("pool"),
            "say where it goes: pool, desktops or selectors",
        ));
    }
    if b.test.is_some() && (b.desktops.is_empty() || b.pool.is_some()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("test"),
            "a test send goes to desktops only (desktops, no pool)",
        ));
    }
    let args = crate::cli::send::SendArgs {
        pool: b.pool,
        test: b.test,
        desktops: b.desktops,
        selectors: b.selectors,
        message: b.message,
        workspace: b.workspace,
        schedule_id: b.schedule_id,
        wait: false,
        json: true,
    };
    let config = api.config()?;
    let by = Actor { name, note: b.note };
    let sent = crate::cli::send::apply_send(&config, &by, &args).await?;
    Ok(Json(
        crate::cli::json::deliveries(&config, &sent.ids()).await?,
    ))
}

/// A postpone's body: `to` (RFC 3339) or `by` (a span, e.g. "1h"), `notice`, `note`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PostponeBody {
    to: Option<String>,
    by: Option<String>,
    notice: Option<String>,
    note: Option<String>,
}

/// `POST /maintenance/{id}/postpone`: as `maintenance postpone --json` answers.
pub(super) async fn postpone(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let name = api.authorize(&headers, Role::Operator).await?;
    let b: PostponeBody = super::body(&bytes)?;
    let unprocessable =
        |key, message: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Some(key), message);
    let later = match (b.to.as_deref(), b.by.as_deref()) {
        (Some(to), None) => {
            let to = time_of(Some(to), "to", StatusCode::UNPROCESSABLE_ENTITY)?;
            crate::cli::maintenance_verbs::Later::To(to.expect("given"))
        }
        (None, Some(by)) => crate::cli::maintenance_verbs::Later::By(
            humantime::parse_duration(by)
                .map_err(|err| unprocessable("by", format!("{by:?} is not a span: {err}")))?,
        ),
        _ => {
            return Err(unprocessable(
                "to",
                "give one of to (RFC 3339) or by (e.g. \"1h\")".to_owned(),
            ));
        }
    };
    let config = api.config()?;
    let by = Actor { name, note: b.note };
    let done = crate::cli::maintenance_verbs::apply_postpone(
        &config,
        &by,
        &id,
        later,
        b.notice.as_deref(),
    )
    .await?;
    let ids: Vec<i64> = done.notices.iter().map(|d| d.id).collect();
    Ok(Json(json!({
        "id": id,
        "occurrence_start": crate::store::format_time(done.start),
        "new_start": crate::store::format_time(done.to),
        "closed": done.closed,
        "notices": crate::cli::json::deliveries(&config, &ids).await?,
    })))
}

/// `POST /maintenance/{id}/uncancel`: `{"id", "uncancelled": N}`.
pub(super) async fn uncancel(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let (config, by, _) = api.change(&headers, Role::Operator, &bytes).await?;
    let n = crate::cli::maintenance_verbs::apply_uncancel(&config, &by, &id).await?;
    Ok(Json(json!({"id": id, "uncancelled": n})))
}

/// A freeze's body.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct FreezeBody {
    until: Option<String>,
    include_windows: bool,
    end: bool,
    note: Option<String>,
}

/// `POST /freeze`: every schedule stops (windows too with `include_windows`) until `until`
/// or `{"end": true}`.
pub(super) async fn freeze(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Answer {
    let name = api.authorize(&headers, Role::Operator).await?;
    let b: FreezeBody = super::body(&bytes)?;
    let config = api.config()?;
    let by = Actor { name, note: b.note };
    if b.end {
        crate::cli::pauses::apply_thaw(&config, &by).await?;
        return Ok(Json(json!({"frozen": false})));
    }
    let until = time_of(
        b.until.as_deref(),
        "until",
        StatusCode::UNPROCESSABLE_ENTITY,
    )?;
    crate::cli::pauses::apply_freeze(&config, &by, until, b.include_windows).await?;
    Ok(Json(json!({
        "frozen": true,
        "until": until.map(crate::store::format_time),
        "include_windows": b.include_windows,
    })))
}
