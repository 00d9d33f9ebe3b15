//! The console's HTTP API (`[api] enabled = true`), on the daemon's listener under `/api/v1`:
//! JSON in and out, `Authorization: Bearer TOKEN`, each route under a role (viewer reads,
//! operator changes, admin manages tokens). Responses use the `--json` shapes of the command
//! line (docs/json.md), and a change goes through the same code as the command's, recorded in
//! the audit trail with the token's name as the actor. It lives with the command line because
//! it is another face of the same commands; the daemon only mounts it.

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

mod isolated;
mod verbs;
mod windows;

use super::CliError;
use super::audit::Actor;
use crate::domain::access::{Role, token_hash};
use crate::store::{HistoryFilter, Store};

/// Request bodies larger than this are refused (413).
const MAX_BODY: usize = 64 * 1024;

/// At most this many rows per list (`limit` is capped to it).
const MAX_LIMIT: u32 = 1000;

pub(in crate::cli) struct Api {
    /// Read again by the routes that need the schedules, so a reload of the file is seen.
    config_path: PathBuf,
    /// One store for every request, opened at the first (the daemon has migrated by then):
    /// checking a token must not re-read the config file or open a pool.
    store: tokio::sync::OnceCell<Store>,
    /// The config file as last read, with the modification time and size it had: read again
    /// only when those change (parsing 1,000 schedules for every request was the API's
    /// largest cost).
    loaded: std::sync::Mutex<Option<(std::time::SystemTime, u64, Arc<crate::config::Config>)>>,
}

/// The routes, for the daemon's listener to mount: the API under `/api/v1`, and the web
/// console under `/ui/` on the same state (`secure`: served under TLS; `ttl`: a console
/// session's life).
pub(crate) fn router(config_path: PathBuf, secure: bool, ttl: std::time::Duration) -> Router {
    let api = Arc::new(Api {
        config_path,
        store: tokio::sync::OnceCell::new(),
        loaded: std::sync::Mutex::new(None),
    });
    let routes = Router::new()
        .route("/status", get(status))
        .route("/schedules", get(schedules).post(verbs::add_schedule))
        .route("/schedules/{id}", get(schedule).delete(remove))
        .route("/maintenance", get(maintenance).post(windows::add))
        .route("/schedules/{id}/pause", post(pause))
        .route("/schedules/{id}/resume", post(resume))
        .route("/deliveries", get(deliveries))
        .route("/deliveries/{id}", get(delivery))
        .route("/audit", get(audit))
        .route("/tokens", get(tokens).post(create_token))
        .route("/tokens/{name}", delete(revoke_token))
        .route("/maintenance/{id}/cancel", post(windows::cancel))
        .route("/deliveries/{id}/resend", post(windows::resend))
        .route("/agenda", get(windows::agenda))
        .route("/send", post(verbs::send))
        .route("/maintenance/{id}/postpone", post(verbs::postpone))
        .route("/maintenance/{id}/uncancel", post(verbs::uncancel))
        .route("/freeze", post(verbs::freeze))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, None, "no such route") })
        .with_state(Arc::clone(&api));
    Router::new()
        .nest("/api/v1", routes)
        .merge(super::console::router(api, secure, ttl))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(isolated::isolated))
}

/// `{"error": {"key": ..., "message": ...}}` with its status.
pub(in crate::cli) struct ApiError {
    pub status: StatusCode,
    pub key: Option<String>,
    pub message: String,
}

impl ApiError {
    pub(in crate::cli) fn new(
        status: StatusCode,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            key: key.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"key": self.key, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
        }
        response
    }
}

/// The command's error as the API says it: bad input 422 naming the key, a missing object
/// 404, a change that does not apply 409, anything else 500 (logged; its text may name
/// internals).
impl From<CliError> for ApiError {
    fn from(err: CliError) -> Self {
        match err {
            CliError::Invalid(fields) => {
                let first = fields.first();
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    // The command line's `--notify-before` is the body's `notify_before`.
                    first
                        .map(|f| f.key.trim_start_matches("--").replace('-', "_"))
                        .as_deref(),
                    first.map_or("invalid input".to_owned(), |f| f.message.clone()),
                )
            }
            CliError::NotFound(text) => ApiError::new(StatusCode::NOT_FOUND, None, text),
            // A database that fails is not the caller's conflict (a 500 below).
            CliError::Failed(err) if err.downcast_ref::<crate::store::StoreError>().is_none() => {
                ApiError::new(StatusCode::CONFLICT, None, format!("{err:#}"))
            }
            other => {
                tracing::error!(error = %other, "API request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "internal error (logged)",
                )
            }
        }
    }
}

type Answer = Result<Json<Value>, ApiError>;

impl Api {
    /// The config as the file says now (a reload of the file is seen at the next request).
    pub(in crate::cli) fn config(&self) -> Result<Arc<crate::config::Config>, ApiError> {
        let stamp = std::fs::metadata(&self.config_path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut loaded = self.loaded.lock().expect("config cache lock");
        if let (Some((at, len)), Some((was_at, was_len, config))) = (stamp, loaded.as_ref())
            && at == *was_at
            && len == *was_len
        {
            return Ok(Arc::clone(config));
        }
        let config = Arc::new(super::load_config(&self.config_path).map_err(ApiError::from)?);
        *loaded = stamp.map(|(at, len)| (at, len, Arc::clone(&config)));
        Ok(config)
    }

    /// The API's store (a handle on its one pool; never closed by a request).
    pub(in crate::cli) async fn open(&self) -> Result<Store, ApiError> {
        self.store
            .get_or_try_init(|| async {
                let config = self.config()?;
                crate::engine::wiring::open_store(&config)
                    .await
                    .map_err(|err| ApiError::from(CliError::from(err)))
            })
            .await
            .cloned()
    }
}

impl Api {
    /// What every change starts with: the token checked for `needed`, the body read, the
    /// config loaded, and who makes the change (the token's name, the body's note).
    async fn change(
        &self,
        headers: &HeaderMap,
        needed: Role,
        bytes: &axum::body::Bytes,
    ) -> Result<(Arc<crate::config::Config>, Actor, ChangeBody), ApiError> {
        let name = self.authorize(headers, needed).await?;
        let mut b: ChangeBody = body(bytes)?;
        let by = Actor {
            name,
            note: b.note.take(),
        };
        Ok((self.config()?, by, b))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ApiError::from(CliError::from(err))
    }
}

/// A store result as the API answers it (a failure is a 500, logged).
fn stored<T>(result: Result<T, crate::store::StoreError>) -> Result<T, ApiError> {
    result.map_err(|err| ApiError::from(CliError::from(err)))
}

impl Api {
    /// The token's name if it is valid and its role covers `needed`: 401 without a usable
    /// token (missing, unknown, expired, revoked), 403 for a role too weak. Each refusal is
    /// counted by reason; the token itself is never logged.
    async fn authorize(&self, headers: &HeaderMap, needed: Role) -> Result<String, ApiError> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let (name, _) = self.check_token(presented, needed).await?;
        Ok(name)
    }

    /// [`Api::authorize`] for a token however it came (a header, the console's login form):
    /// its name and role.
    pub(in crate::cli) async fn check_token(
        &self,
        presented: Option<&str>,
        needed: Role,
    ) -> Result<(String, Role), ApiError> {
        let refuse = |status, reason: &'static str, message: &str| {
            crate::platform::metrics::api_auth_failed(reason);
            ApiError::new(status, None, message)
        };
        let presented = presented
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256);
        let Some(presented) = presented else {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "missing",
                "an Authorization: Bearer token is required",
            ));
        };
        self.check_hash(&token_hash(presented), needed).await
    }

    /// The token whose hash is `hash`, checked for `needed` (the console's sessions keep only
    /// the hash, and check it again on every request: a revoked token ends its sessions).
    pub(in crate::cli) async fn check_hash(
        &self,
        hash: &str,
        needed: Role,
    ) -> Result<(String, Role), ApiError> {
        let refuse = |status, reason: &'static str, message: &str| {
            crate::platform::metrics::api_auth_failed(reason);
            ApiError::new(status, None, message)
        };
        let store = self.open().await?;
        let now = Utc::now();
        let found = store.token_by_hash(hash, now).await;
        let token = stored(found)?;
        let Some(token) = token.filter(|t| t.usable(now)) else {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "invalid",
                "the token is unknown, expired or revoked",
            ));
        };
        let role = Role::parse(&token.role).unwrap_or(Role::Viewer);
        if !role.covers(needed) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!(
                    "the token's role {} may not do this (it needs {})",
                    role.as_str(),
                    needed.as_str()
                ),
            ));
        }
        Ok((token.name, role))
    }
}

async fn status(State(api): State<Arc<Api>>, headers: HeaderMap) -> Answer {
    api.authorize(&headers, Role::Viewer).await?;
    let config = api.config()?;
    let store = api.open().await?;
    Ok(Json(super::status::json_of(&config, &store).await?))
}

async fn schedules(State(api): State<Arc<Api>>, headers: HeaderMap) -> Answer {
    api.authorize(&headers, Role::Viewer).await?;
    Ok(Json(Value::Array(api.schedule_list().await?)))
}

impl Api {
    /// Every schedule (SCHEDULE) and window (WINDOW) the service runs, as
    /// `schedule list --json` shows them.
    pub(in crate::cli) async fn schedule_list(&self) -> Result<Vec<Value>, ApiError> {
        let config = self.config()?;
        let store = self.open().await?;
        let (catalog, states) = super::load_catalog(&config, &store).await?;
        let now = Utc::now();
        let mut list: Vec<Value> = catalog
            .schedules
            .iter()
            .map(|s| {
                let state = states.get(s.id.as_str());
                let fires = s.next_fires(
                    state.and_then(|st| st.last_due_at),
                    state.map_or(now, |st| st.anchor_at),
                    now,
                    1,
                );
                super::json::schedule(s, &fires, &catalog.pauses)
            })
            .collect();
        list.extend(
            catalog
                .windows
                .iter()
                .map(|w| super::render::window_json(w, now, 2, &states)),
        );
        Ok(list)
    }
}

async fn schedule(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let Json(all) = schedules(State(api), headers).await?;
    all.as_array()
        .and_then(|list| list.iter().find(|s| s["id"] == id.as_str()).cloned())
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                None,
                format!("no schedule or window {id:?}"),
            )
        })
}

/// A pause's or resume's body: config-file style keys plus `note`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ChangeBody {
    until: Option<String>,
    note: Option<String>,
}

/// The body, or 400 naming what is wrong with it (an empty body is an empty object).
fn body<T: serde::de::DeserializeOwned + Default>(
    bytes: &axum::body::Bytes,
) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|err| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            format!("the body is not a valid JSON object for this route: {err}"),
        )
    })
}

async fn pause(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let (config, by, b) = api.change(&headers, Role::Operator, &bytes).await?;
    // A value in a well-formed body: 422 naming it.
    let until = time_of(
        b.until.as_deref(),
        "until",
        StatusCode::UNPROCESSABLE_ENTITY,
    )?;
    super::pauses::apply_pause(&config, &by, &id, until).await?;
    Ok(Json(
        json!({"id": id, "paused": true, "until": until.map(crate::store::format_time)}),
    ))
}

async fn resume(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let (config, by, _) = api.change(&headers, Role::Operator, &bytes).await?;
    super::pauses::apply_resume(&config, &by, &id).await?;
    Ok(Json(json!({"id": id, "paused": false})))
}

#[derive(serde::Deserialize)]
struct DeliveryQuery {
    schedule_id: Option<String>,
    status: Option<String>,
    since: Option<String>,
    limit: Option<u32>,
}

/// An RFC 3339 time given as `key`, or `status` naming it.
fn time_of(
    text: Option<&str>,
    key: &str,
    status: StatusCode,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.to_utc())
            .map_err(|_| ApiError::new(status, Some(key), format!("{t:?} is not an RFC 3339 time")))
    })
    .transpose()
}

/// A query's `since` (a bad query is 400).
fn since_of(text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    time_of(text, "since", StatusCode::BAD_REQUEST)
}

async fn deliveries(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Query(q): Query<DeliveryQuery>,
) -> Answer {
    api.authorize(&headers, Role::Viewer).await?;
    let status = match &q.status {
        Some(text) => Some(crate::domain::Status::parse(text).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Some("status"),
                format!("unknown status {text:?}"),
            )
        })?),
        None => None,
    };
    let filter = HistoryFilter {
        schedule_id: q.schedule_id,
        status,
        limit: q.limit.unwrap_or(50).min(MAX_LIMIT),
        since: since_of(q.since.as_deref())?,
        ..HistoryFilter::default()
    };
    let store = api.open().await?;
    let rows = store.history(&filter).await;
    let rows = stored(rows)?;
    Ok(Json(Value::Array(
        rows.iter().map(super::json::delivery).collect(),
    )))
}

async fn delivery(State(api): State<Arc<Api>>, headers: HeaderMap, Path(id): Path<i64>) -> Answer {
    api.authorize(&headers, Role::Viewer).await?;
    let store = api.open().await?;
    let row = store.delivery(id).await;
    match stored(row)? {
        Some(row) => Ok(Json(super::json::delivery(&row))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no delivery {id}"),
        )),
    }
}

#[derive(serde::Deserialize)]
struct AuditQuery {
    since: Option<String>,
    limit: Option<u32>,
}

async fn audit(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Answer {
    api.authorize(&headers, Role::Viewer).await?;
    let since = since_of(q.since.as_deref())?;
    let store = api.open().await?;
    let rows = store
        .audit(since, None, q.limit.unwrap_or(100).min(MAX_LIMIT))
        .await;
    let rows = stored(rows)?;
    Ok(Json(Value::Array(
        rows.iter().map(super::audit::entry_json).collect(),
    )))
}

async fn remove(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let (config, by, _) = api.change(&headers, Role::Operator, &bytes).await?;
    super::schedule::apply_remove(&config, &by, &id).await?;
    Ok(Json(json!({"id": id, "removed": true})))
}

async fn maintenance(State(api): State<Arc<Api>>, headers: HeaderMap) -> Answer {
    let Json(all) = schedules(State(api), headers).await?;
    let windows = all
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|s| s["kind"] == "maintenance_window")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(Value::Array(windows)))
}

/// `POST /tokens`: `{"name", "role", "expires", "note"}` (expires as `token create` takes it).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
    expires: Option<String>,
    note: Option<String>,
}

async fn create_token(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Answer {
    let admin = api.authorize(&headers, Role::Admin).await?;
    let new: NewToken = serde_json::from_slice(&bytes).map_err(|err| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            format!(
                "the body is not a token to create ({{\"name\", \"role\", \"expires\"}}): {err}"
            ),
        )
    })?;
    let config = api.config()?;
    let by = Actor {
        name: admin,
        note: new.note.clone(),
    };
    let (token, secret) = super::tokens::apply_create(
        &config,
        &by,
        (
            &new.name,
            &new.role,
            new.expires.as_deref().unwrap_or("90d"),
        ),
    )
    .await?;
    let mut doc = super::tokens::token_json(&token);
    doc["token"] = Value::String(secret);
    Ok(Json(doc))
}

async fn revoke_token(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Answer {
    let (config, by, _) = api.change(&headers, Role::Admin, &bytes).await?;
    super::tokens::apply_revoke(&config, &by, &name).await?;
    Ok(Json(json!({"name": name, "revoked": true})))
}

async fn tokens(State(api): State<Arc<Api>>, headers: HeaderMap) -> Answer {
    api.authorize(&headers, Role::Admin).await?;
    let store = api.open().await?;
    let rows = store.tokens().await;
    let rows = stored(rows)?;
    Ok(Json(Value::Array(
        rows.iter().map(super::tokens::token_json).collect(),
    )))
}
