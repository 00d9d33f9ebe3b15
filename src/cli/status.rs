//! A little over 400 lines (the view is gathered once for the table, the JSON and the API):
//! `status`, like `systemctl list-timers`, one row per schedule and maintenance window with
//! when it fires next, when it last did and how that went; failing ones first, and a summary.
//! It reads the database, so it works whether or not the daemon runs, and says whether it does. Exit 1 when something
//! is failing (like `systemctl is-failed`), 0 otherwise.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::path::Path;

use super::times::{Natural, zoned};
use super::{CliError, load_catalog, load_config};
use crate::store::LastOccurrence;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// JSON instead of a table (same fields).
    #[arg(long)]
    pub json: bool,
    /// Only the schedules and windows of this workspace.
    #[arg(long)]
    pub workspace: Option<String>,
}

/// One row of the view.
struct Row {
    id: String,
    workspace: String,
    kind: &'static str,
    zone: Tz,
    next: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    result: String,
    failing: bool,
    outcome: Option<LastOccurrence>,
}

pub(super) async fn run(config_path: &Path, args: StatusArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    if let Some(name) = &args.workspace {
        config
            .defaults()
            .workspace(&Some(name.clone()))
            .map_err(|message| super::invalid("--workspace", message))?;
    }
    let View {
        rows,
        catalog,
        polls,
        daemons,
        now,
    } = {
        let store = super::open_existing_store(&config).await?;
        let view = gather(&config, &store, args.workspace.as_deref()).await;
        store.close().await;
        view?
    };
    let failing: Vec<&str> = rows
        .iter()
        .filter(|r| r.failing)
        .map(|r| r.id.as_str())
        .collect();
    let schedules = rows.iter().filter(|r| r.kind == "schedule").count();
    let windows = rows
        .iter()
        .filter(|r| r.kind == "maintenance_window")
        .count();
    let summary = format!(
        "{schedules} schedule{}, {windows} maintenance window{}; {}",
        plural(schedules),
        plural(windows),
        match failing.len() {
            0 => "none failing".to_owned(),
            n => format!("{n} failing: {}", failing.join(", ")),
        }
    );
    let tasks_failing = super::task_runs::failing(&catalog, &polls);
    if args.json {
        let tasks = super::task_runs::json(&catalog, &polls, now);
        let service = super::service::json(&daemons);
        super::json::print(&json_doc(
            &rows,
            now,
            failing.len(),
            (tasks, service),
            &catalog.pauses,
        ));
    } else {
        say!("{}\n", super::service::line(&daemons));
        print_table(&rows, now, config.workspaces.len() > 1);
        print_pauses(&catalog.pauses);
        super::task_runs::print(&catalog, &polls, now, config.task_warnings.len());
        let tasks_note = match tasks_failing {
            true => "; Workspace's scheduled tasks need a look (see above)",
            false => "",
        };
        say!("\n{summary}{tasks_note}");
    }
    // Like `systemctl is-failed`: scripts and monitoring can ask without reading the table.
    match failing.is_empty() && !tasks_failing {
        true => Ok(()),
        false => Err(CliError::Reported("something is failing".to_owned())),
    }
}

/// What `status` shows, gathered: the rows (failing first), the catalog, the task polls and
/// the service's instances.
struct View {
    rows: Vec<Row>,
    catalog: crate::engine::catalog::Catalog,
    polls: Vec<crate::store::TaskPoll>,
    daemons: Vec<crate::store::RunningDaemon>,
    now: DateTime<Utc>,
}

async fn gather(
    config: &crate::config::Config,
    store: &crate::store::Store,
    workspace: Option<&str>,
) -> Result<View, CliError> {
    let (mut catalog, states) = load_catalog(config, store).await?;
    if let Some(name) = workspace {
        catalog.schedules.retain(|s| s.workspace.as_str() == name);
        catalog.windows.retain(|w| w.workspace.as_str() == name);
        catalog
            .tasks
            .windows
            .retain(|w| w.workspace.as_str() == name);
    }
    let last = store.last_occurrences().await?;
    let polls = store.task_polls().await?;
    let daemons = store.running_daemons().await?;
    let now = Utc::now();
    let mut rows: Vec<Row> = Vec::new();
    for spec in &catalog.schedules {
        let state = states.get(spec.id.as_str());
        let next = match spec.enabled {
            true => spec
                .next_fires(
                    state.and_then(|s| s.last_due_at),
                    state.map_or(now, |s| s.anchor_at),
                    now,
                    1,
                )
                .first()
                .copied(),
            false => None,
        };
        rows.push(row(
            (spec.id.as_str(), spec.workspace.as_str()),
            "schedule",
            spec.timezone,
            next,
            last.get(spec.id.as_str()),
        ));
    }
    for window in &catalog.windows {
        // What will go out: a cancelled occurrence is skipped (as the daemon skips it).
        let next = window
            .upcoming(
                now,
                16,
                super::render::end_known_since(window, &states, now),
            )
            .into_iter()
            .find(|u| !u.cancelled)
            .map(|u| u.due_at);
        rows.push(row(
            (window.id.as_str(), window.workspace.as_str()),
            "maintenance_window",
            window.timezone,
            next,
            last.get(window.id.as_str()),
        ));
    }
    // Each task warning rule is one row: its next warning of any task, its last outcome.
    for rule in &config.task_warnings {
        let next = catalog
            .tasks
            .windows
            .iter()
            .filter(|w| w.id == rule.id)
            .flat_map(|w| w.upcoming(now, 1, now))
            .map(|u| u.due_at)
            .min();
        rows.push(row(
            (rule.id.as_str(), rule.workspace.as_str()),
            "task_warnings",
            rule.timezone,
            next,
            last.get(rule.id.as_str()),
        ));
    }
    // Failing first, then by next fire time (none last), then by id.
    rows.sort_by_key(|r| (!r.failing, r.next.is_none(), r.next, r.id.clone()));
    Ok(View {
        rows,
        catalog,
        polls,
        daemons,
        now,
    })
}

/// STATUS, as `status --json` prints it (the API's `GET /status`), from `store` (the API's
/// one pool).
pub(crate) async fn json_of(
    config: &crate::config::Config,
    store: &crate::store::Store,
) -> Result<serde_json::Value, CliError> {
    let v = gather(config, store, None).await?;
    let failing = v.rows.iter().filter(|r| r.failing).count();
    let tasks = super::task_runs::json(&v.catalog, &v.polls, v.now);
    let service = super::service::json(&v.daemons);
    Ok(json_doc(
        &v.rows,
        v.now,
        failing,
        (tasks, service),
        &v.catalog.pauses,
    ))
}

fn row(
    (id, workspace): (&str, &str),
    kind: &'static str,
    zone: Tz,
    next: Option<DateTime<Utc>>,
    last: Option<&LastOccurrence>,
) -> Row {
    let (result, failing) = last.map_or(("-".to_owned(), false), describe);
    Row {
        id: id.to_owned(),
        workspace: workspace.to_owned(),
        kind,
        zone,
        next,
        last: last
            .and_then(|l| DateTime::parse_from_rfc3339(&l.due_at).ok())
            .map(|t| t.to_utc()),
        result,
        failing,
        outcome: last.cloned(),
    }
}

/// "sent 3/3, desktops 498/500 partial", "failed 1/3 (HTTP 403 WKS.0403)", "missed".
fn describe(last: &LastOccurrence) -> (String, bool) {
    let total: i64 = last.statuses.values().sum();
    let detail = last.failure.as_ref().map(|(http, code)| {
        [http.map(|h| format!("HTTP {h}")), code.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut parts: Vec<String> = last
        .statuses
        .iter()
        .map(|(status, n)| {
            let counted = match total {
                1 => status.clone(),
                _ => format!("{status} {n}/{total}"),
            };
            match (status.as_str(), &detail) {
                ("failed", Some(detail)) if !detail.is_empty() => format!("{counted} ({detail})"),
                _ => counted,
            }
        })
        .collect();
    if last.desktops_total > 0 || !last.job_problems.is_empty() {
        let problems: Vec<&str> = last.job_problems.keys().map(String::as_str).collect();
        parts.push(format!(
            "desktops {}/{}{}",
            last.desktops_ok,
            last.desktops_total,
            match problems.is_empty() {
                true => String::new(),
                false => format!(" {}", problems.join(" ")),
            }
        ));
    }
    if let Some(audience) = &last.audience {
        parts.push(format!(
            "audience {}/{}{}",
            audience.targeted,
            audience.matched,
            match audience.selector.ends_with("audience=connected") {
                true => " connected",
                false => "",
            }
        ));
    }
    let failing = last.statuses.keys().any(|s| s == "failed" || s == "missed")
        || !last.job_problems.is_empty();
    (parts.join(", "), failing)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// "5d 3h", "12m 30s", "42s": the two largest units, from the first that is not zero.
fn span(seconds: i64) -> String {
    let s = seconds.max(0) as u64;
    let parts = [
        (s / 86_400, "d"),
        (s / 3600 % 24, "h"),
        (s / 60 % 60, "m"),
        (s % 60, "s"),
    ];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    parts[first..]
        .iter()
        .take(2)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn local(t: Option<DateTime<Utc>>, zone: Tz) -> String {
    t.map_or("-".to_owned(), |t| {
        zoned(t, Natural::Zone(zone))
            .format("%a %Y-%m-%d %H:%M:%S %:z")
            .to_string()
    })
}

/// With several workspaces, a WORKSPACE column follows the id.
fn print_table(rows: &[Row], now: DateTime<Utc>, several: bool) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.id.clone(),
                local(r.next, r.zone),
                r.next.map_or("-".into(), |t| span((t - now).num_seconds())),
                local(r.last, r.zone),
                r.last.map_or("-".into(), |t| {
                    format!("{} ago", span((now - t).num_seconds()))
                }),
                r.result.clone(),
            ];
            if several {
                cells.insert(1, r.workspace.clone());
            }
            cells
        })
        .collect();
    let mut headers = vec!["SCHEDULE", "NEXT", "LEFT", "LAST", "PASSED", "RESULT"];
    if several {
        headers.insert(1, "WORKSPACE");
    }
    super::render::print_columns(&headers, &cells);
}

/// The freeze and the pauses in force: until when and why.
fn print_pauses(pauses: &[crate::store::Pause]) {
    for p in pauses {
        let said = super::pauses::describe(p);
        match p.schedule_id == crate::store::FREEZE {
            true => say!(
                "\nFROZEN {said} ({})",
                match p.include_windows {
                    true => "maintenance windows and task warnings too",
                    false => "maintenance windows and task warnings keep going",
                }
            ),
            false => say!("\npaused {} {said}", p.schedule_id),
        }
    }
}

fn json_doc(
    rows: &[Row],
    now: DateTime<Utc>,
    failing: usize,
    (tasks, service): (serde_json::Value, serde_json::Value),
    pauses: &[crate::store::Pause],
) -> serde_json::Value {
    let time = |t: Option<DateTime<Utc>>| t.map(crate::store::format_time);
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "workspace": r.workspace, "kind": r.kind, "timezone": r.zone.name(),
                "next": time(r.next), "left_seconds": r.next.map(|t| (t - now).num_seconds()),
                "last": time(r.last), "passed_seconds": r.last.map(|t| (now - t).num_seconds()),
                "last_result": r.outcome.as_ref().map(|o| serde_json::json!({
                    "statuses": o.statuses, "desktops_ok": o.desktops_ok,
                    "desktops_total": o.desktops_total, "job_results_not_ok": o.job_problems,
                    "http_status": o.failure.as_ref().and_then(|f| f.0),
                    "error_code": o.failure.as_ref().and_then(|f| f.1.clone()),
                    "audience": o.audience.as_ref().map(|a| serde_json::json!({
                        "selector": a.selector, "matched": a.matched, "targeted": a.targeted,
                    })),
                })),
                "failing": r.failing,
            })
        })
        .collect();
    let pauses: Vec<serde_json::Value> = pauses
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.schedule_id, "until": p.until.map(crate::store::format_time),
                "note": p.note, "include_windows": p.include_windows,
                "since": crate::store::format_time(p.created_at), "actor": p.actor,
            })
        })
        .collect();
    serde_json::json!({
        "schedules": list, "failing": failing, "workspace_tasks": tasks, "pauses": pauses,
        "service": service,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_show_the_two_largest_units() {
        assert_eq!(span(5 * 86_400 + 3 * 3600 + 7), "5d 3h");
        assert_eq!(span(750), "12m 30s");
        assert_eq!(span(42), "42s");
        assert_eq!(span(-5), "0s");
        assert_eq!(span(3600), "1h 0m");
    }
}
