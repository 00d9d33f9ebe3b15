//! The console's pages that only read: the overview (the next 24 hours as a timeline,
//! failing schedules first, the last outcomes), schedules, maintenance windows, deliveries
//! (paged), one delivery (attempts, per-desktop results, a re-send button) and the audit
//! trail. Each reads what the matching `--json` command reads, through the same code.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use maud::{Markup, html};
use serde_json::Value;
use std::sync::Arc;

use super::pages::{csrf, done, frame, pager};
use super::{Console, PAGE, Refusal, link, segment};
use crate::domain::access::Role;
use crate::store::HistoryFilter;

/// What a list page is asked: a search, a filter, a page, and what the last form did.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct ListQuery {
    q: String,
    state: String,
    schedule_id: String,
    status: String,
    object: String,
    page: Option<usize>,
    done: Option<String>,
}

impl ListQuery {
    fn page(&self) -> usize {
        self.page.unwrap_or(1).clamp(1, 100_000)
    }
}

/// A stored time as people read it: `2026-12-04 03:00:00Z`, `2026-12-04 11:00:00+08:00`.
fn when(v: &Value) -> String {
    v.as_str().map_or_else(|| "-".to_owned(), readable)
}

/// An RFC 3339 time without its `T` and fractions of a second.
fn readable(t: &str) -> String {
    let t = t.replacen('T', " ", 1);
    match t.find('.') {
        Some(dot) => {
            let rest = &t[dot + 1..];
            let zone = rest
                .find(|c: char| !c.is_ascii_digit())
                .map_or("", |i| &rest[i..]);
            format!("{}{zone}", &t[..dot])
        }
        None => t,
    }
}

/// A JSON value as text (strings as they are).
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `498/500 desktops`, or what the result says without counts.
fn desktops(ok: &Value, total: &Value) -> String {
    match (ok.as_i64(), total.as_i64()) {
        (Some(ok), Some(total)) => format!("{ok}/{total} desktops"),
        _ => "-".to_owned(),
    }
}

pub(super) async fn overview(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Markup, Refusal> {
    let who = c.visitor(&headers, Role::Viewer).await?;
    let config = c.api.config()?;
    let store = c.api.open().await?;
    let status = crate::cli::status::json_of(&config, &store).await?;
    let now = Utc::now();
    let horizon = now + TimeDelta::hours(24);
    let agenda = c.api.agenda((now, horizon, None)).await?;
    let recent = store
        .history(&HistoryFilter {
            limit: 20,
            ..HistoryFilter::default()
        })
        .await?;
    let mut rows: Vec<&Value> = status["schedules"]
        .as_array()
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    // Failing schedules first, then by the next message.
    rows.sort_by_key(|r| (!is_failing(r), text(&r["next"])));
    let failing = status["failing"].as_u64().unwrap_or(0);
    let body = html! {
        (done(q.done.as_deref()))
        p id="service" {
            @if status["service"]["running"].as_bool() == Some(true) { "The service is running." }
            @else { strong.state-failed { "The service is not running." } }
            " "
            @if failing > 0 {
                strong.state-failed id="failing-count" { (failing) " schedule(s) failing" }
            } @else { span.state-ok { "Nothing failing." } }
        }
        @if failing > 0 {
            h2 { "Needs attention" }
            (status_table(rows.iter().filter(|r| is_failing(r)), "failing-schedules"))
        }
        h2 { "Next 24 hours" }
        (timeline(&agenda, now, horizon))
        @if agenda.is_empty() { p.muted { "Nothing goes out in the next 24 hours." } }
        @else {
            table id="agenda" {
                tr { th { "Time" } th { "Schedule" } th { "What" } th { "Target" } th { "Text" } th { "State" } }
                @for item in agenda.iter().take(OVERVIEW_ROWS) {
                    tr {
                        td { (when(&item["local"])) }
                        td { (text(&item["schedule_id"])) }
                        td { (text(&item["what"])) }
                        td { (text(&item["target"])) }
                        td.msg { (text(&item["text"])) }
                        td { (text(&item["state"])) }
                    }
                }
            }
            @if agenda.len() > OVERVIEW_ROWS {
                p.muted { "… and " (agenda.len() - OVERVIEW_ROWS) " more (" code { "agenda" } " lists them all)" }
            }
        }
        h2 { "Schedules (failing first)" }
        (status_table(rows.iter().take(OVERVIEW_ROWS), "schedules"))
        @if rows.len() > OVERVIEW_ROWS {
            p { a href="/ui/schedules" { "All " (rows.len()) " schedules and windows" } }
        }
        h2 { "Last outcomes" }
        (delivery_table(&recent))
    };
    Ok(frame("Overview", "/ui/", &who, body))
}

/// Rows the overview lists at most per table.
const OVERVIEW_ROWS: usize = 50;

fn is_failing(row: &Value) -> bool {
    row["failing"].as_bool().unwrap_or(false)
}

/// STATUS_ROW objects as a table: next and last time, the last outcome in desktops.
fn status_table<'a>(rows: impl Iterator<Item = &'a &'a Value>, id: &str) -> Markup {
    html! {
        table id=(id) {
            tr { th { "Schedule" } th { "Kind" } th { "Next" } th { "Last" } th { "Last outcome" } }
            @for r in rows {
                tr class=[is_failing(r).then_some("failing")] {
                    td { (text(&r["id"])) }
                    td { (text(&r["kind"])) }
                    td { (when(&r["next"])) }
                    td { (when(&r["last"])) }
                    td {
                        @if r["last_result"].is_null() { "-" } @else {
                            (text(&r["last_result"]["statuses"])) ", "
                            (desktops(&r["last_result"]["desktops_ok"], &r["last_result"]["desktops_total"]))
                        }
                    }
                }
            }
        }
    }
}

/// The next 24 hours as a bar: a mark per message at its time, an hour tick every 3 hours.
fn timeline(items: &[Value], from: DateTime<Utc>, to: DateTime<Utc>) -> Markup {
    let span = (to - from).num_seconds().max(1) as f64;
    let at = |t: DateTime<Utc>| ((t - from).num_seconds() as f64 / span * 100.0).clamp(0.0, 100.0);
    html! {
        div.timeline id="timeline" role="img" aria-label="messages in the next 24 hours" {
            @for h in (0..24).step_by(3) {
                span.tick style=(format!("left:{:.2}%", at(from + TimeDelta::hours(h)))) {
                    "+" (h) "h"
                }
            }
            @for item in items.iter().take(2000) {
                @if let Some(t) = item["due_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
                    span class=(format!("mark {} {}",
                        if text(&item["what"]).contains("warning") { "warning" } else { "" },
                        text(&item["state"])))
                        style=(format!("left:{:.2}%", at(t.to_utc())))
                        title=(format!("{} {} — {}", when(&item["local"]), text(&item["schedule_id"]), text(&item["text"]))) {}
                }
            }
        }
    }
}

/// A delivery's desktops: `498/500 desktops`, `2/5 desktops (partial)`, or what its job says.
fn desktops_of(r: &crate::store::DeliveryRow) -> String {
    match (r.desktops_ok, r.desktops_total, r.job_result.as_deref()) {
        (Some(ok), Some(total), Some("ok") | None) => format!("{ok}/{total} desktops"),
        (Some(ok), Some(total), Some(result)) => format!("{ok}/{total} desktops ({result})"),
        _ => r.desktops_summary(),
    }
}

/// Deliveries as a table, each linked to its page.
fn delivery_table(rows: &[crate::store::DeliveryRow]) -> Markup {
    html! {
        table.deliveries {
            tr { th { "Id" } th { "Due" } th { "Schedule" } th { "Target" } th { "Status" } th { "Desktops" } th { "Message" } }
            @for r in rows {
                tr {
                    td { a href=(format!("/ui/deliveries/{}", r.id)) { (r.id) } }
                    td { (readable(&r.due_at)) }
                    td { (r.schedule_id) }
                    td { (r.pool_id) }
                    td class=(format!("state-{}", r.status)) { (r.status) }
                    td { (desktops_of(r)) }
                    td.msg { (r.message) }
                }
            }
        }
    }
}

pub(super) async fn schedules(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Markup, Refusal> {
    let who = c.visitor(&headers, Role::Viewer).await?;
    let all = c.api.schedule_list().await?;
    let needle = q.q.to_lowercase();
    let matching: Vec<&Value> = all
        .iter()
        .filter(|s| s["kind"] == "schedule")
        .filter(|s| q.state.is_empty() || s["state"] == q.state.as_str())
        .filter(|s| {
            needle.is_empty()
                || text(&s["id"]).to_lowercase().contains(&needle)
                || text(&s["message"]).to_lowercase().contains(&needle)
        })
        .collect();
    let page = q.page();
    let shown: Vec<&&Value> = matching.iter().skip((page - 1) * PAGE).take(PAGE).collect();
    let operator = who.role.covers(Role::Operator);
    let body = html! {
        (done(q.done.as_deref()))
        form method="get" action="/ui/schedules" {
            input type="search" name="q" value=(q.q) placeholder="id or message";
            " "
            select name="state" {
                @for s in ["", "active", "paused", "disabled"] {
                    option value=(s) selected[q.state == s] { @if s.is_empty() { "any state" } @else { (s) } }
                }
            }
            " " button type="submit" { "Search" }
            " " span.muted { (matching.len()) " of " (all.iter().filter(|s| s["kind"] == "schedule").count()) " schedules" }
        }
        table id="schedule-list" {
            tr { th { "Schedule" } th { "State" } th { "When" } th { "Next" } th { "Message" } @if operator { th { "Change" } } }
            @for s in &shown {
                @let id = text(&s["id"]);
                tr id=(format!("schedule-{id}")) {
                    td { (id) }
                    td { (text(&s["state"])) }
                    td { (text(&s["trigger"])) " " span.muted { (text(&s["timezone"])) } }
                    td { (when(&s["next"])) }
                    td.msg { (text(&s["message"])) }
                    @if operator {
                        td {
                            @if s["state"] == "paused" {
                                form.inline method="post" action=(format!("/ui/schedules/{}/resume", segment(&id))) {
                                    (csrf(&who))
                                    input type="text" name="note" placeholder="why (note)" size="14";
                                    button type="submit" class="resume" { "Resume" }
                                }
                            } @else {
                                form.inline method="post" action=(format!("/ui/schedules/{}/pause", segment(&id))) {
                                    (csrf(&who))
                                    input type="text" name="note" placeholder="why (note)" size="14";
                                    input type="text" name="until" placeholder="until (RFC 3339, optional)" size="20";
                                    button type="submit" class="pause" { "Pause" }
                                }
                            }
                        }
                    }
                }
            }
        }
        (pager("/ui/schedules", &[("q", &q.q), ("state", &q.state)], page, matching.len() > page * PAGE))
    };
    Ok(frame("Schedules", "/ui/schedules", &who, body))
}

pub(super) async fn maintenance(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Markup, Refusal> {
    let who = c.visitor(&headers, Role::Viewer).await?;
    let all = c.api.schedule_list().await?;
    let windows: Vec<&Value> = all
        .iter()
        .filter(|s| s["kind"] == "maintenance_window")
        .collect();
    let operator = who.role.covers(Role::Operator);
    let body = html! {
        (done(q.done.as_deref()))
        @if windows.is_empty() { p.muted { "No maintenance windows." } }
        table id="window-list" {
            tr { th { "Window" } th { "State" } th { "Starts" } th { "Next messages" } @if operator { th { "Cancel" } } }
            @for w in &windows {
                @let id = text(&w["id"]);
                tr id=(format!("window-{id}")) {
                    td { (id) br; span.muted { (text(&w["source"])) } }
                    td { (text(&w["state"])) }
                    td { (text(&w["starts"])) " for " (w["duration_seconds"].as_u64().unwrap_or(0) / 60) " min" }
                    td {
                        @for u in w["upcoming"].as_array().map(|l| l.as_slice()).unwrap_or(&[]).iter().take(4) {
                            div {
                                (when(&u["local"])) " " (text(&u["kind"])) ": "
                                @if u["cancelled"].as_bool() == Some(true) { s { (text(&u["text"])) } " (cancelled)" }
                                @else { span.msg { (text(&u["text"])) } }
                            }
                        }
                    }
                    @if operator {
                        td {
                            form.inline method="post" action=(format!("/ui/maintenance/{}/cancel", segment(&id))) {
                                (csrf(&who))
                                input type="text" name="notice" placeholder="notice to its desktops (optional)" size="24";
                                input type="text" name="note" placeholder="why (note)" size="12";
                                button type="submit" class="cancel" { "Cancel next" }
                            }
                        }
                    }
                }
            }
        }
        @if operator {
            form method="post" action="/ui/maintenance" id="new-window" {
                (csrf(&who))
                fieldset {
                    legend { "New maintenance window" }
                    label { "id " input type="text" name="id" required size="16"; }
                    label { "start " input type="text" name="start" placeholder="2026-12-20T02:00:00+08:00" size="24"; }
                    label { "or cron " input type="text" name="cron" placeholder="0 0 2 * * SUN" size="14"; }
                    label { "duration " input type="text" name="duration" value="1h" size="6"; }
                    label { "notify before " input type="text" name="notify_before" placeholder="1h, 15m" size="10"; }
                    label { "time zone " input type="text" name="timezone" placeholder="Asia/Shanghai" size="14"; }
                    br;
                    label { "pools " input type="text" name="pools" placeholder="pool ids, comma-separated" size="40"; }
                    label { "desktops " input type="text" name="desktops" placeholder="desktop ids, comma-separated" size="30"; }
                    br;
                    label { "message " input type="text" name="message" size="70" placeholder="Desktops restart in {time_left}"; }
                    label { "note " input type="text" name="note" size="20"; }
                    button type="submit" id="create-window" { "Create" }
                }
            }
        }
    };
    Ok(frame("Maintenance", "/ui/maintenance", &who, body))
}

pub(super) async fn deliveries(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Markup, Refusal> {
    let who = c.visitor(&headers, Role::Viewer).await?;
    let status = match q.status.as_str() {
        "" => None,
        s => Some(crate::domain::Status::parse(s).ok_or_else(|| {
            Refusal::page(StatusCode::BAD_REQUEST, &format!("unknown status {s:?}"))
        })?),
    };
    let page = q.page();
    let store = c.api.open().await?;
    let rows = store
        .history(&HistoryFilter {
            schedule_id: Some(q.schedule_id.clone()).filter(|s| !s.is_empty()),
            status,
            limit: PAGE as u32 + 1,
            offset: ((page - 1) * PAGE) as u32,
            ..HistoryFilter::default()
        })
        .await?;
    let has_next = rows.len() > PAGE;
    let body = html! {
        form method="get" action="/ui/deliveries" {
            input type="text" name="schedule_id" value=(q.schedule_id) placeholder="schedule id";
            " "
            select name="status" {
                @for s in ["", "sent", "failed", "missed", "coalesced", "dry_run", "pending", "cancelled"] {
                    option value=(s) selected[q.status == s] { @if s.is_empty() { "any status" } @else { (s) } }
                }
            }
            " " button type="submit" { "Filter" }
        }
        (delivery_table(&rows[..rows.len().min(PAGE)]))
        (pager("/ui/deliveries", &[("schedule_id", &q.schedule_id), ("status", &q.status)], page, has_next))
    };
    Ok(frame("Deliveries", "/ui/deliveries", &who, body))
}

pub(super) async fn delivery(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
) -> Result<Markup, Refusal> {
    let who = c.visitor(&headers, Role::Viewer).await?;
    let store = c.api.open().await?;
    let Some(row) = store.delivery(id).await? else {
        return Err(Refusal::page(
            StatusCode::NOT_FOUND,
            &format!("no delivery {id}"),
        ));
    };
    let attempts = store.attempts_of(id).await?;
    let recipients = store.recipients(id).await?;
    let resends = store.resends_of(id).await?;
    let body = html! {
        (done(q.done.as_deref()))
        table id="delivery" {
            tr { th { "Schedule" } td { (row.schedule_id) } }
            tr { th { "Workspace" } td { (row.workspace) } }
            tr { th { "Target" } td { (row.pool_id) } }
            @if let Some(parent) = row.parent_id {
                tr { th { "Re-sends" } td { a href=(format!("/ui/deliveries/{parent}")) { "delivery " (parent) } } }
            }
            tr { th { "Due" } td { (readable(&row.due_at)) } }
            tr { th { "Status" } td class=(format!("state-{}", row.status)) id="status" { (row.status) } }
            tr { th { "Job" } td { (row.job_id.as_deref().unwrap_or("-")) } }
            tr { th { "Desktops" } td id="desktops" { (desktops_of(&row)) } }
            @if let Some(error) = &row.job_error { tr { th { "Job note" } td { (error) } } }
            @if let Some(msg) = &row.error_msg { tr { th { "Error" } td { (row.error_code.as_deref().unwrap_or("")) " " (msg) } } }
            tr { th { "Message" } td.msg id="message" { (row.message) } }
            @if !resends.is_empty() {
                tr { th { "Re-sent as" } td { @for r in &resends { a href=(format!("/ui/deliveries/{r}")) { (r) } " " } } }
            }
        }
        @if who.role.covers(Role::Operator) {
            form method="post" action=(format!("/ui/deliveries/{id}/resend")) id="resend-form" {
                (csrf(&who))
                p {
                    "Re-send to the desktops that did not get it: "
                    input type="text" name="note" placeholder="why (note)" size="20";
                    label { input type="checkbox" name="again" value="true"; " again (it was re-sent before)" }
                    label { input type="checkbox" name="past_deadline" value="true"; " past its deadline" }
                    button type="submit" id="resend" { "Re-send" }
                }
            }
        }
        h2 { "Attempts" }
        table id="attempts" {
            tr { th { "#" } th { "Started" } th { "HTTP" } th { "Error" } }
            @for a in &attempts {
                tr {
                    td { (a.attempt) }
                    td { (readable(&a.started_at)) }
                    td { (a.http_status.map_or("-".to_owned(), |s| s.to_string())) }
                    td { (a.error_code.as_deref().unwrap_or("")) " " (a.error_msg.as_deref().unwrap_or("")) }
                }
            }
        }
        h2 { "Desktops (those that did not get it first)" }
        @if recipients.is_empty() { p.muted { "No per-desktop results recorded." } }
        @else {
            table id="recipients" {
                tr { th { "Status" } th { "Desktop" } th { "User" } th { "Desktop name" } th { "Reason" } }
                @for r in &recipients {
                    tr {
                        td { (r.status) }
                        td { (r.desktop_id) }
                        td { (r.user_name.as_deref().unwrap_or("-")) }
                        td { (r.desktop_name.as_deref().unwrap_or("-")) }
                        td { (r.error_code.as_deref().unwrap_or("")) " " (r.fail_reason.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    };
    Ok(frame(
        &format!("Delivery {id}"),
        "/ui/deliveries",
        &who,
        body,
    ))
}

pub(super) async fn audit(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Markup, Refusal> {
    let who = c.visitor(&headers, Role::Viewer).await?;
    let store = c.api.open().await?;
    let object = Some(q.object.as_str()).filter(|o| !o.is_empty());
    let rows = store.audit(None, object, 500).await?;
    let body = html! {
        form method="get" action="/ui/audit" {
            input type="text" name="object" value=(q.object) placeholder="schedule, window, token or delivery";
            " " button type="submit" { "Filter" }
            " " span.muted { "the last 500 changes" }
        }
        table id="audit" {
            tr { th { "Time" } th { "Actor" } th { "Action" } th { "Object" } th { "Summary" } th { "Note" } }
            @for e in &rows {
                tr {
                    td { (readable(&crate::store::format_time(e.at))) }
                    td { (e.actor) }
                    td { (e.action) }
                    td { a href=(link("/ui/audit", &[("object", &e.object)])) { (e.object) } }
                    td { (e.summary) }
                    td { (e.note.as_deref().unwrap_or("")) }
                }
            }
        }
    };
    Ok(frame("Audit trail", "/ui/audit", &who, body))
}
