//! The console's page frame and small shared pieces. maud escapes every value spliced into a
//! page (`(value)`), so a message, a name or an error from Workspace is shown as text;
//! nothing here uses `PreEscaped` on anything but the constant style sheet.

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Visitor;

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center}
header a{color:#cfe0ff;text-decoration:none}header a.here{color:#fff;font-weight:600}
header .who{margin-left:auto;color:#aab}
main{padding:1em 1.2em;max-width:1400px}
h1{font-size:1.3em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .4em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e6ea;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef0f3;font-weight:600}
tr.failing td{background:#fff1f0}
.state-failed,.state-missed{color:#b42318;font-weight:600}
.state-sent,.state-ok{color:#067647}
.muted{color:#667}
.msg{max-width:38em;overflow-wrap:anywhere}
form.inline{display:inline-flex;gap:.3em;margin:0}
input,button,select{font:inherit}
.done{background:#ecfdf3;border:1px solid #abefc6;padding:.4em .8em;margin-bottom:.8em}
.problem{background:#fef3f2;border:1px solid #fecdca;padding:.6em .9em}
.timeline{position:relative;height:2.2em;background:#fff;border:1px solid #e3e6ea;margin:.4em 0 .8em}
.timeline .tick{position:absolute;top:0;bottom:0;border-left:1px dashed #d0d5dd;font-size:.75em;color:#98a}
.timeline .mark{position:absolute;top:.6em;width:.7em;height:.7em;margin-left:-.35em;border-radius:50%;background:#2e90fa}
.timeline .mark.warning{background:#f79009}.timeline .mark.cancelled,.timeline .mark.paused{background:#98a2b3}
.pager{margin:.6em 0;display:flex;gap:1em}
fieldset{background:#fff;border:1px solid #e3e6ea;margin:.8em 0}
label{display:inline-block;margin:.2em .8em .2em 0}
";

/// A whole page: the navigation (with who is logged in and the logout form) around `body`.
pub(super) fn frame(title: &str, here: &str, who: &Visitor, body: Markup) -> Markup {
    let nav = [
        ("/ui/", "Overview"),
        ("/ui/schedules", "Schedules"),
        ("/ui/maintenance", "Maintenance"),
        ("/ui/deliveries", "Deliveries"),
        ("/ui/audit", "Audit"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — workspace-notifier" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "workspace-notifier" }
                    @for (href, name) in nav {
                        a href=(href) class=[(href == here).then_some("here")] { (name) }
                    }
                    span.who { (who.name) " (" (who.role.as_str()) ")" }
                    form.inline method="post" action="/ui/logout" {
                        (csrf(who))
                        button type="submit" id="logout" { "Log out" }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// The hidden CSRF field every changing form carries.
pub(super) fn csrf(who: &Visitor) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.csrf); }
}

/// The line that says what the last form did (`?done=` after its redirect).
pub(super) fn done(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text.filter(|t| !t.is_empty()) {
            p.done id="done" { (text) }
        }
    }
}

/// A page of its own for a refusal or an error, with the status.
pub(super) fn problem(status: StatusCode, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (status.as_u16()) " — workspace-notifier" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                    p.problem id="problem" { (message) }
                    p { a href="/ui/" { "Back to the console" } }
                }
            }
        }
    }
}

/// The login form; `failed` says why the last try was refused.
pub(super) fn login(failed: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Log in — workspace-notifier" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { "workspace-notifier console" }
                    @if let Some(why) = failed {
                        p.problem id="problem" { (why) }
                    }
                    form method="post" action="/ui/login" {
                        label for="token" { "API token" }
                        input type="password" id="token" name="token" autocomplete="off"
                            required size="70" placeholder="wn_…";
                        " "
                        button type="submit" id="login" { "Log in" }
                    }
                    p.muted { "A token is made with " code { "workspace-notifier token create" } "." }
                }
            }
        }
    }
}

/// Previous/next links of a paged list (`page` counts from 1).
pub(super) fn pager(path: &str, params: &[(&str, &str)], page: usize, has_next: bool) -> Markup {
    let at = |p: usize| {
        let p = p.to_string();
        let mut all = params.to_vec();
        all.push(("page", &p));
        super::link(path, &all)
    };
    html! {
        nav.pager {
            @if page > 1 { a href=(at(page - 1)) rel="prev" { "← newer / previous" } }
            span.muted { "page " (page) }
            @if has_next { a href=(at(page + 1)) rel="next" id="next-page" { "next →" } }
        }
    }
}
