//! The API's routes for windows, re-sends and the agenda: `POST /maintenance` (a window as a
//! `[[maintenance_windows]]` entry holds it, plus `note`), `POST /maintenance/{id}/cancel`,
//! `POST /deliveries/{id}/resend`, `GET /agenda`. Each goes through the command's own code.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

use super::{Answer, Api, ApiError, body, stored, time_of};
use crate::cli::audit::Actor;
use crate::domain::access::Role;
use crate::store::{StoredSelectors, StoredTargets, StoredWindow};

/// A window to create: the config file's keys, and `note`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowBody {
    id: String,
    start: Option<String>,
    cron: Option<String>,
    duration: String,
    #[serde(default)]
    notify_before: Vec<String>,
    timezone: Option<String>,
    #[serde(default)]
    pools: Vec<String>,
    message: String,
    start_message: Option<String>,
    end_message: Option<String>,
    misfire_grace: Option<String>,
    #[serde(default)]
    maintenance_mode: bool,
    workspace: Option<String>,
    #[serde(default)]
    desktops: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    enterprise_project: Option<String>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    all_desktops: bool,
    audience: Option<String>,
    max_audience: Option<i64>,
    note: Option<String>,
}

impl WindowBody {
    fn stored(self) -> (StoredWindow, Option<String>) {
        let window = StoredWindow {
            id: self.id,
            start: self.start,
            cron: self.cron,
            duration: self.duration,
            notify_before: self.notify_before,
            timezone: self.timezone,
            pools: self.pools,
            message: self.message,
            start_message: self.start_message,
            end_message: self.end_message,
            misfire_grace: self.misfire_grace,
            maintenance_mode: self.maintenance_mode,
            extra: StoredTargets {
                workspace: self.workspace,
                desktops: self.desktops,
                resend_attempts: None,
                resend_after: None,
                selectors: StoredSelectors {
                    tags: self.tags,
                    enterprise_project: self.enterprise_project,
                    users: self.users,
                    all_desktops: self.all_desktops.then_some(true),
                    audience: self.audience,
                    max_audience: self.max_audience,
                },
            },
        };
        (window, self.note)
    }
}

/// `POST /maintenance`: the new window as `maintenance list --json` shows it (201).
pub(super) async fn add(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = api.authorize(&headers, Role::Operator).await?;
    let new: WindowBody = serde_json::from_slice(&bytes).map_err(|err| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            format!("the body is not a maintenance window (the config file's keys): {err}"),
        )
    })?;
    let (window, note) = new.stored();
    let config = api.config()?;
    let by = Actor { name, note };
    let spec = crate::cli::maintenance::apply_add(&config, &by, &window).await?;
    let store = api.open().await?;
    let states = stored(store.schedule_states().await)?;
    let doc = crate::cli::render::window_json(&spec, Utc::now(), 2, &states);
    Ok((StatusCode::CREATED, Json(doc)))
}

/// A cancel's body.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct CancelBody {
    notice: Option<String>,
    all: bool,
    note: Option<String>,
}

/// `POST /maintenance/{id}/cancel`: as `maintenance cancel --json` answers.
pub(super) async fn cancel(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let name = api.authorize(&headers, Role::Operator).await?;
    let b: CancelBody = body(&bytes)?;
    let config = api.config()?;
    let by = Actor { name, note: b.note };
    let done = crate::cli::maintenance::apply_cancel(&config, &by, &id, b.notice.as_deref(), b.all)
        .await?;
    let ids: Vec<i64> = done.notices.iter().map(|d| d.id).collect();
    Ok(Json(json!({
        "id": id,
        "occurrence_start": done.occurrence.map(crate::store::format_time),
        "closed": done.closed,
        "notices": crate::cli::json::deliveries(&config, &ids).await?,
    })))
}

/// A re-send's body.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ResendBody {
    again: bool,
    past_deadline: bool,
    note: Option<String>,
}

/// `POST /deliveries/{id}/resend`: the re-sends made, as `resend --json` prints them.
pub(super) async fn resend(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    bytes: axum::body::Bytes,
) -> Answer {
    let name = api.authorize(&headers, Role::Operator).await?;
    let b: ResendBody = body(&bytes)?;
    let config = api.config()?;
    let by = Actor { name, note: b.note };
    let flags = (b.again, b.past_deadline);
    let ids: Vec<i64> = match crate::cli::resend::apply_resend(&config, &by, id, flags).await? {
        crate::cli::resend::Resent::Nothing(_) => Vec::new(),
        crate::cli::resend::Resent::Made(done) => done.iter().map(|d| d.id).collect(),
    };
    Ok(Json(crate::cli::json::deliveries(&config, &ids).await?))
}

#[derive(serde::Deserialize)]
pub(super) struct AgendaQuery {
    since: Option<String>,
    until: Option<String>,
    workspace: Option<String>,
}

/// `GET /agenda`: AGENDA_ITEM objects, the next 24 hours unless `since`/`until` say.
pub(super) async fn agenda(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Query(q): Query<AgendaQuery>,
) -> Answer {
    api.authorize(&headers, Role::Viewer).await?;
    let since = time_of(q.since.as_deref(), "since", StatusCode::BAD_REQUEST)?;
    let until = time_of(q.until.as_deref(), "until", StatusCode::BAD_REQUEST)?;
    let since = since.unwrap_or_else(Utc::now);
    let until = until.unwrap_or(since + TimeDelta::hours(24));
    if until <= since {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Some("until"),
            "until is not after since",
        ));
    }
    Ok(Json(Value::Array(
        api.agenda((since, until, q.workspace.as_deref())).await?,
    )))
}

impl Api {
    /// AGENDA_ITEM objects of `[since, until)` (of one workspace, with one).
    pub(in crate::cli) async fn agenda(
        &self,
        window: (chrono::DateTime<Utc>, chrono::DateTime<Utc>, Option<&str>),
    ) -> Result<Vec<Value>, ApiError> {
        let config = self.config()?;
        let store = self.open().await?;
        let (catalog, states) = crate::cli::load_catalog(&config, &store).await?;
        let specs = catalog.specs();
        let (items, _) =
            crate::cli::agenda::collect(&specs, &states, window, config.retry.max_elapsed);
        Ok(items.iter().map(crate::cli::agenda::item_json).collect())
    }
}
