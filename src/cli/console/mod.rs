//! The web console under `/ui/`: server-rendered pages (maud, compiled into the binary, no
//! script at all) on the API's listener and state. A token typed into `/ui/login` opens a
//! session: a random id in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` under TLS) that
//! lasts `[api] session_ttl`; the server keeps only the token's hash, checked again on every
//! request, so a revoked or expired token ends its sessions at once. Every form that changes
//! something carries the session's CSRF token; a POST without it is 403. Changes go through
//! the commands' own code and are audited with the token's name, like the API's.

mod actions;
mod pages;
mod views;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::api::{Api, ApiError};
use crate::domain::access::{Role, same_hash, token_hash};

/// The name of the session cookie.
const COOKIE: &str = "wn_session";

/// At most this many live sessions (a login past it is refused until some expire).
const MAX_SESSIONS: usize = 10_000;

/// Rows on one page of a list.
pub(super) const PAGE: usize = 100;

/// The console's state: the API's, and the sessions.
pub(in crate::cli) struct Console {
    api: Arc<Api>,
    sessions: Mutex<HashMap<String, Session>>,
    /// Served under TLS: cookies get `Secure`.
    secure: bool,
    ttl: std::time::Duration,
}

/// What the server keeps of a session (under the SHA-256 of its id).
struct Session {
    token_hash: String,
    csrf: String,
    expires: DateTime<Utc>,
}

/// Who is looking: the token's name and role, and the session's CSRF token for its forms.
pub(super) struct Visitor {
    pub name: String,
    pub role: Role,
    pub csrf: String,
}

/// The console's routes, for the API's router to merge.
pub(in crate::cli) fn router(api: Arc<Api>, secure: bool, ttl: std::time::Duration) -> Router {
    let console = Arc::new(Console {
        api,
        sessions: Mutex::new(HashMap::new()),
        secure,
        ttl,
    });
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/login", get(actions::login_form).post(actions::login))
        .route("/ui/logout", post(actions::logout))
        .route("/ui/", get(views::overview))
        .route("/ui/schedules", get(views::schedules))
        .route("/ui/schedules/{id}/pause", post(actions::pause))
        .route("/ui/schedules/{id}/resume", post(actions::resume))
        .route(
            "/ui/maintenance",
            get(views::maintenance).post(actions::add_window),
        )
        .route("/ui/maintenance/{id}/cancel", post(actions::cancel_window))
        .route("/ui/deliveries", get(views::deliveries))
        .route("/ui/deliveries/{id}", get(views::delivery))
        .route("/ui/deliveries/{id}/resend", post(actions::resend))
        .route("/ui/audit", get(views::audit))
        .layer(axum::middleware::map_response(hardened))
        .with_state(console)
}

/// Every page: no script may run (the pages have none), nothing is framed, cached or sent
/// elsewhere.
async fn hardened(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A page that is not the one asked for: the login form, a refusal, an error.
pub(super) struct Refusal(Box<Response>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl Refusal {
    fn to_login() -> Self {
        Refusal(Box::new(Redirect::to("/ui/login").into_response()))
    }

    pub(super) fn page(status: StatusCode, message: &str) -> Self {
        Refusal(Box::new(
            (status, pages::problem(status, message)).into_response(),
        ))
    }
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        match err.status {
            StatusCode::UNAUTHORIZED => Refusal::to_login(),
            status => Refusal::page(status, &err.message),
        }
    }
}

impl From<super::CliError> for Refusal {
    fn from(err: super::CliError) -> Self {
        Refusal::from(ApiError::from(err))
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(err: crate::store::StoreError) -> Self {
        Refusal::from(ApiError::from(err))
    }
}

/// The session id in the request's cookie, if any.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

impl Console {
    /// The visitor of this request's session, if its token still covers `needed`: else the
    /// login form (no session, expired, token revoked) or 403 (a role too weak).
    async fn visitor(&self, headers: &HeaderMap, needed: Role) -> Result<Visitor, Refusal> {
        let Some(id) = session_id(headers) else {
            return Err(Refusal::to_login());
        };
        let key = token_hash(id);
        let now = Utc::now();
        let (hash, csrf) = {
            let mut sessions = self.sessions.lock().expect("sessions lock");
            match sessions.get(&key) {
                Some(s) if s.expires > now => (s.token_hash.clone(), s.csrf.clone()),
                Some(_) => {
                    sessions.remove(&key);
                    return Err(Refusal::to_login());
                }
                None => return Err(Refusal::to_login()),
            }
        };
        match self.api.check_hash(&hash, needed).await {
            Ok((name, role)) => Ok(Visitor { name, role, csrf }),
            Err(err) => {
                if err.status == StatusCode::UNAUTHORIZED {
                    self.sessions.lock().expect("sessions lock").remove(&key);
                }
                Err(Refusal::from(err))
            }
        }
    }

    /// [`Console::visitor`] for a form that changes something: its `csrf` field must be the
    /// session's (403 otherwise, before anything else is looked at).
    async fn changer(
        &self,
        headers: &HeaderMap,
        needed: Role,
        csrf: Option<&str>,
    ) -> Result<Visitor, Refusal> {
        let visitor = self.visitor(headers, Role::Viewer).await?;
        let given = csrf.unwrap_or("");
        if !same_hash(&token_hash(given), &token_hash(&visitor.csrf)) {
            return Err(Refusal::page(
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or wrong: reload the page and try again",
            ));
        }
        if !visitor.role.covers(needed) {
            return Err(Refusal::page(
                StatusCode::FORBIDDEN,
                &format!(
                    "the token's role {} may not do this (it needs {})",
                    visitor.role.as_str(),
                    needed.as_str()
                ),
            ));
        }
        Ok(visitor)
    }

    /// What a changing form starts with (an operator's, CSRF checked): the config, and who
    /// makes the change (the token's name, the form's note).
    async fn acting(
        &self,
        headers: &HeaderMap,
        csrf: Option<&str>,
        note: Option<String>,
    ) -> Result<(std::sync::Arc<crate::config::Config>, super::audit::Actor), Refusal> {
        let who = self.changer(headers, Role::Operator, csrf).await?;
        let config = self.api.config()?;
        Ok((
            config,
            super::audit::Actor {
                name: who.name,
                note,
            },
        ))
    }

    /// A new session for the token `hash`: its cookie.
    fn open_session(&self, hash: String) -> Result<HeaderValue, Refusal> {
        let random = || {
            crate::platform::token::new_token().map_err(|err| {
                tracing::error!(error = %err, "no random session id");
                Refusal::page(StatusCode::INTERNAL_SERVER_ERROR, "internal error (logged)")
            })
        };
        let (id, csrf) = (random()?, random()?);
        let now = Utc::now();
        let expires = crate::domain::time_math::plus(now, self.ttl);
        {
            let mut sessions = self.sessions.lock().expect("sessions lock");
            sessions.retain(|_, s| s.expires > now);
            if sessions.len() >= MAX_SESSIONS {
                return Err(Refusal::page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many open sessions: try again later",
                ));
            }
            sessions.insert(
                token_hash(&id),
                Session {
                    token_hash: hash,
                    csrf,
                    expires,
                },
            );
        }
        let cookie = format!(
            "{COOKIE}={id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{}",
            self.ttl.as_secs(),
            if self.secure { "; Secure" } else { "" }
        );
        Ok(HeaderValue::from_str(&cookie).expect("cookie is ASCII"))
    }

    /// Ends the request's session (logout): the cookie that clears it.
    fn close_session(&self, headers: &HeaderMap) -> HeaderValue {
        if let Some(id) = session_id(headers) {
            self.sessions
                .lock()
                .expect("sessions lock")
                .remove(&token_hash(id));
        }
        let cookie = format!(
            "{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0{}",
            if self.secure { "; Secure" } else { "" }
        );
        HeaderValue::from_str(&cookie).expect("cookie is ASCII")
    }
}

/// A link with query parameters, encoded.
pub(super) fn link(path: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
        query.append_pair(k, v);
    }
    let query = query.finish();
    match query.is_empty() {
        true => path.to_owned(),
        false => format!("{path}?{query}"),
    }
}

/// A path segment, encoded (ids may hold characters a URL may not).
pub(super) fn segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
