//! Upcoming runs of Workspace's own scheduled tasks with the warnings planned before each, the
//! tasks a `[[task_warnings]]` rule covers but cannot warn of, and each workspace's last read
//! of the task list: for `status` and `maintenance list` (text, and TASK_RUNS in JSON).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::maintenance::WindowSpec;
use crate::domain::trigger::Trigger;
use crate::engine::catalog::Catalog;
use crate::store::TaskPoll;

/// One upcoming run: the task and its warnings still to come.
struct Run<'a> {
    window: &'a WindowSpec,
    at: DateTime<Utc>,
    warnings: Vec<DateTime<Utc>>,
}

fn runs(catalog: &Catalog, now: DateTime<Utc>) -> Vec<Run<'_>> {
    let mut out: Vec<Run<'_>> = catalog
        .tasks
        .windows
        .iter()
        .filter_map(|w| {
            let Trigger::At(at) = w.starts else {
                return None;
            };
            (at > now).then(|| Run {
                window: w,
                at,
                warnings: w.upcoming(now, 1, now).iter().map(|u| u.due_at).collect(),
            })
        })
        .collect();
    out.sort_by_key(|r| (r.at, r.window.id.to_string()));
    // A task aimed at several tags is one window per tag: shown once.
    out.dedup_by(|a, b| {
        a.at == b.at && a.window.id == b.window.id && same_task(a.window, b.window)
    });
    out
}

fn same_task(a: &WindowSpec, b: &WindowSpec) -> bool {
    a.task.as_ref().map(|t| &t.task_id) == b.task.as_ref().map(|t| &t.task_id)
}

/// `REBOOT "nightly reboot" 02:00 CST — warnings 01:00, 01:45, 01:55 (restart-warnings)`.
fn line(run: &Run<'_>) -> String {
    let zone = run.window.timezone;
    let task = run
        .window
        .task
        .as_ref()
        .expect("task windows carry their task");
    let natural = super::times::Natural::Zone(zone);
    let hm = |t: DateTime<Utc>| {
        super::times::zoned(t, natural)
            .format("%H:%M:%S")
            .to_string()
    };
    let warnings = match run.warnings.is_empty() {
        true => "no warnings left".to_owned(),
        false => format!(
            "warnings {}",
            run.warnings
                .iter()
                .map(|t| hm(*t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "{} {:?} {} {} — {warnings} ({}, task {})",
        task.task_type,
        task.task_name,
        super::times::shown(run.at, natural),
        zone.name(),
        run.window.id,
        task.task_id
    )
}

/// The text section; nothing when no rule is configured.
pub(super) fn print(catalog: &Catalog, polls: &[TaskPoll], now: DateTime<Utc>, rules: usize) {
    if rules == 0 {
        return;
    }
    say!("\nWorkspace's scheduled tasks:");
    let runs = runs(catalog, now);
    if runs.is_empty() {
        say!("  no upcoming run a [[task_warnings]] rule covers");
    }
    for run in &runs {
        say!("  {}", line(run));
    }
    for problem in &catalog.tasks.problems {
        say!("  {problem}");
    }
    for poll in polls {
        match &poll.error {
            None => say!(
                "  workspace {}: task list read at {}",
                poll.workspace,
                poll.polled_at
            ),
            Some(error) => say!(
                "  workspace {}: task list NOT read at {} (last read {}): {error}",
                poll.workspace,
                poll.polled_at,
                poll.ok_at.as_deref().unwrap_or("never")
            ),
        }
    }
}

/// TASK_RUNS (see `docs/json.md`).
pub(super) fn json(catalog: &Catalog, polls: &[TaskPoll], now: DateTime<Utc>) -> Value {
    let time = crate::store::format_time;
    let runs: Vec<Value> = runs(catalog, now)
        .iter()
        .map(|r| {
            let task = r
                .window
                .task
                .as_ref()
                .expect("task windows carry their task");
            json!({
                "rule": r.window.id.as_str(), "workspace": r.window.workspace.as_str(),
                "task_id": task.task_id, "task_name": task.task_name, "task_type": task.task_type,
                "run_at": time(r.at), "timezone": r.window.timezone.name(),
                "warnings": r.warnings.iter().map(|t| time(*t)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let polls: Vec<Value> = polls
        .iter()
        .map(|p| json!({"workspace": p.workspace, "polled_at": p.polled_at, "ok_at": p.ok_at, "error": p.error}))
        .collect();
    json!({"runs": runs, "unwarnable": catalog.tasks.problems, "polls": polls})
}

/// True when something about the tasks needs a look: a task that cannot be warned of, or a
/// task list that could not be read at the last try.
pub(super) fn failing(catalog: &Catalog, polls: &[TaskPoll]) -> bool {
    !catalog.tasks.problems.is_empty() || polls.iter().any(|p| p.error.is_some())
}
