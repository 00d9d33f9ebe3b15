//! The console's forms: logging in and out, and the changes (pause, resume, a new window, a
//! cancel with its notice, a re-send). Each checks the session's CSRF token first, then goes
//! through the command's own code with the token's name as the actor and the form's note, and
//! answers with a redirect to the page it came from, saying what it did.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use std::sync::Arc;

use super::{Console, Refusal, link, pages};
use crate::domain::access::{Role, token_hash};

pub(super) async fn login_form() -> Markup {
    pages::login(None)
}

#[derive(serde::Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    token: String,
}

pub(super) async fn login(
    State(c): State<Arc<Console>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, Refusal> {
    let token = form.token.trim();
    match c.api.check_token(Some(token), Role::Viewer).await {
        Ok(_) => {
            let cookie = c.open_session(token_hash(token))?;
            let mut response = Redirect::to("/ui/").into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(err) if err.status == StatusCode::UNAUTHORIZED => Ok((
            StatusCode::UNAUTHORIZED,
            pages::login(Some(
                "That token is unknown, expired or revoked (see `token list`).",
            )),
        )
            .into_response()),
        Err(err) => Err(Refusal::from(err)),
    }
}

/// A form's CSRF field and note, the fields every changing form has.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct Change {
    csrf: Option<String>,
    note: String,
    until: String,
    notice: String,
    again: Option<String>,
    past_deadline: Option<String>,
}

impl Change {
    fn note(&self) -> Option<String> {
        Some(self.note.trim().to_owned()).filter(|n| !n.is_empty())
    }
}

pub(super) async fn logout(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<Change>,
) -> Result<Response, Refusal> {
    c.changer(&headers, Role::Viewer, form.csrf.as_deref())
        .await?;
    let cookie = c.close_session(&headers);
    let mut response = Redirect::to("/ui/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Back to `path`, saying `what`.
fn back(path: &str, what: &str) -> Response {
    Redirect::to(&link(path, &[("done", what)])).into_response()
}

pub(super) async fn pause(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Change>,
) -> Result<Response, Refusal> {
    let (config, by) = c
        .acting(&headers, form.csrf.as_deref(), form.note())
        .await?;
    let until = match form.until.trim() {
        "" => None,
        t => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.to_utc())
                .map_err(|_| {
                    Refusal::page(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &format!("until: {t:?} is not an RFC 3339 time"),
                    )
                })?,
        ),
    };
    crate::cli::pauses::apply_pause(&config, &by, &id, until).await?;
    Ok(back("/ui/schedules", &format!("paused {id}")))
}

pub(super) async fn resume(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Change>,
) -> Result<Response, Refusal> {
    let (config, by) = c
        .acting(&headers, form.csrf.as_deref(), form.note())
        .await?;
    crate::cli::pauses::apply_resume(&config, &by, &id).await?;
    Ok(back("/ui/schedules", &format!("resumed {id}")))
}

pub(super) async fn cancel_window(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Change>,
) -> Result<Response, Refusal> {
    let (config, by) = c
        .acting(&headers, form.csrf.as_deref(), form.note())
        .await?;
    let notice = Some(form.notice.trim()).filter(|n| !n.is_empty());
    let done = crate::cli::maintenance::apply_cancel(&config, &by, &id, notice, false).await?;
    let when = done
        .occurrence
        .map(|t| t.with_timezone(&done.timezone).to_rfc3339())
        .unwrap_or_default();
    let notices = match done.notices.len() {
        0 => String::new(),
        n => format!(", {n} notice(s) sent"),
    };
    Ok(back(
        "/ui/maintenance",
        &format!("cancelled {id} starting {when}{notices}"),
    ))
}

/// The new-window form: the config file's keys, lists comma-separated.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct NewWindow {
    csrf: Option<String>,
    id: String,
    start: String,
    cron: String,
    duration: String,
    notify_before: String,
    timezone: String,
    pools: String,
    desktops: String,
    message: String,
    note: String,
}

/// A comma-separated field as a list.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An optional text field.
fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

pub(super) async fn add_window(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<NewWindow>,
) -> Result<Response, Refusal> {
    let (config, by) = c
        .acting(&headers, form.csrf.as_deref(), given(&form.note))
        .await?;
    let window = crate::store::StoredWindow {
        id: form.id.trim().to_owned(),
        start: given(&form.start),
        cron: given(&form.cron),
        duration: form.duration.trim().to_owned(),
        notify_before: list(&form.notify_before),
        timezone: given(&form.timezone),
        pools: list(&form.pools),
        message: form.message.clone(),
        start_message: None,
        end_message: None,
        misfire_grace: None,
        maintenance_mode: false,
        extra: crate::store::StoredTargets {
            desktops: list(&form.desktops),
            ..Default::default()
        },
    };
    let made = crate::cli::maintenance::apply_add(&config, &by, &window).await?;
    Ok(back(
        "/ui/maintenance",
        &format!("created window {}", made.id),
    ))
}

pub(super) async fn resend(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<Change>,
) -> Result<Response, Refusal> {
    let (config, by) = c
        .acting(&headers, form.csrf.as_deref(), form.note())
        .await?;
    let flags = (form.again.is_some(), form.past_deadline.is_some());
    let what = match crate::cli::resend::apply_resend(&config, &by, id, flags).await? {
        crate::cli::resend::Resent::Nothing(summary) => {
            format!("no desktop to re-send to ({summary})")
        }
        crate::cli::resend::Resent::Made(done) => {
            let mut ids: Vec<i64> = done.iter().map(|d| d.id).collect();
            ids.sort_unstable();
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            format!("re-sent as delivery {}", ids.join(", "))
        }
    };
    Ok(back(&format!("/ui/deliveries/{id}"), &what))
}
