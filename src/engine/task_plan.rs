//! Which warnings Workspace's scheduled tasks get: the `[[task_warnings]]` rules applied to the
//! tasks as last read, as one-off windows (one per rule, run and target), and what a change of
//! a task takes back: the warnings of a run that moved or went away, recorded `cancelled`.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

use crate::domain::maintenance::WindowSpec;
use crate::domain::trigger::Trigger;
use crate::domain::workspace_task::TaskWarningRule;
use crate::domain::{ScheduleId, Status};
use crate::store::{NewDelivery, StoredTask};

/// The tasks as planned: their windows, and the tasks a rule covers that get no warnings.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskPlan {
    pub windows: Vec<Arc<WindowSpec>>,
    pub problems: Vec<String>,
    /// Tasks a rule covers, by workspace: (workspace, warned of, not warnable).
    pub counts: Vec<(String, usize, usize)>,
}

/// `task 1234 "nightly reboot" (REBOOT)`.
pub(crate) fn describe(stored: &StoredTask) -> String {
    format!(
        "Workspace task {} {:?} ({}) in workspace {}",
        stored.task.id, stored.task.name, stored.task.task_type, stored.workspace
    )
}

/// The windows warning of `stored` under `rules` (none when no rule covers it or it has no
/// next run); `Err` saying why when a rule covers it but it cannot be warned of.
pub(crate) fn windows_of(
    rules: &[TaskWarningRule],
    stored: &StoredTask,
) -> Result<Vec<WindowSpec>, String> {
    let covering: Vec<&TaskWarningRule> = rules
        .iter()
        .filter(|r| r.workspace.as_str() == stored.workspace && r.filter.covers(&stored.task))
        .collect();
    if covering.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(problem) = &stored.problem {
        return Err(problem.clone());
    }
    // A one-off task that has run has no next execution: nothing to warn of, nothing wrong.
    if stored.task.next_execution_time.trim().is_empty() {
        return Ok(Vec::new());
    }
    let run = stored.task.next_run()?;
    if stored.task.objects.is_empty() {
        return Err("it is applied to no desktop, pool, tag or all desktops".to_owned());
    }
    Ok(covering
        .iter()
        .flat_map(|rule| rule.windows(&stored.task, &run))
        .collect())
}

/// Every task's windows, and a problem line for each that a rule covers but cannot warn of.
pub(crate) fn plan(rules: &[TaskWarningRule], tasks: &[StoredTask]) -> TaskPlan {
    let mut out = TaskPlan::default();
    if rules.is_empty() {
        return out;
    }
    // A pool's warning is keyed by rule, pool and time: two tasks of one rule on the same pool
    // at the same instant share one (the first task's), said as a problem, never silently.
    let mut pools_taken: std::collections::HashMap<(String, DateTime<Utc>, String), String> =
        Default::default();
    for stored in tasks {
        let covered = rules
            .iter()
            .any(|r| r.workspace.as_str() == stored.workspace && r.filter.covers(&stored.task));
        let (warned, unwarnable) = match windows_of(rules, stored) {
            Ok(windows) => {
                for mut window in windows {
                    if let Trigger::At(run) = window.starts {
                        window.pools.retain(|pool| {
                            let key = (window.id.to_string(), run, pool.to_string());
                            match pools_taken.get(&key) {
                                None => {
                                    pools_taken.insert(key, stored.task.id.clone());
                                    true
                                }
                                Some(first) => {
                                    out.problems.push(format!(
                                        "{}: pool {pool} is warned of once, as Workspace task {first} runs on it at the same time under rule {}",
                                        describe(stored),
                                        window.id
                                    ));
                                    false
                                }
                            }
                        });
                    }
                    out.windows.push(Arc::new(window));
                }
                (usize::from(covered), 0)
            }
            Err(problem) => {
                out.problems
                    .push(format!("{} gets no warnings: {problem}", describe(stored)));
                (0, 1)
            }
        };
        match out.counts.iter_mut().find(|c| c.0 == stored.workspace) {
            Some(count) => {
                count.1 += warned;
                count.2 += unwarnable;
            }
            None => out
                .counts
                .push((stored.workspace.clone(), warned, unwarnable)),
        }
    }
    out
}

/// What a change of a task takes back: for each window of the old state whose run is still
/// ahead and is no longer planned, its warnings not yet due, as `cancelled` rows, and the span
/// of its warnings (whose pending rows are closed and whose sent ones decide a cancel notice).
pub(crate) struct Withdrawn {
    pub rows: Vec<NewDelivery>,
    /// Per rule: (rule, first warning, the run).
    pub spans: Vec<(ScheduleId, DateTime<Utc>, DateTime<Utc>)>,
    /// One window per rule, to render its cancel notice.
    pub windows: Vec<Arc<WindowSpec>>,
}

pub(crate) fn withdrawn(
    rules: &[TaskWarningRule],
    old: &StoredTask,
    new: Option<&StoredTask>,
    now: DateTime<Utc>,
    limits: (Duration, usize),
) -> Withdrawn {
    let old_windows = windows_of(rules, old).unwrap_or_default();
    let new_windows = new
        .map(|n| windows_of(rules, n).unwrap_or_default())
        .unwrap_or_default();
    let mut out = Withdrawn {
        rows: Vec::new(),
        spans: Vec::new(),
        windows: Vec::new(),
    };
    for window in old_windows {
        let Trigger::At(start) = window.starts else {
            continue;
        };
        let still_planned = new_windows
            .iter()
            .any(|n| n.id == window.id && n.starts == window.starts && n.task == window.task);
        // A run that has come is not withdrawn: Workspace moved on to the next one.
        if start <= now || still_planned {
            continue;
        }
        let window = Arc::new(window);
        let note = "the Workspace task's run moved or the task was removed, disabled or changed type; this warning is not sent";
        for spec in window.parts() {
            let Some(due) = spec.trigger.next_after(spec.timezone, now, now) else {
                continue;
            };
            if due <= start {
                out.rows.extend(super::occurrence_rows::deliveries(
                    &spec,
                    due,
                    limits,
                    Status::Cancelled,
                    Some(note.to_owned()),
                ));
            }
        }
        if !out.spans.iter().any(|s| s.0 == window.id) {
            let longest = window.leads.first().copied().unwrap_or_default();
            let first = crate::domain::time_math::minus(start, longest);
            out.spans.push((window.id.clone(), first, start));
            out.windows.push(Arc::clone(&window));
        }
    }
    out
}

/// The warnings a change plans, by rule: those of the new state's windows that the old state
/// did not have, still ahead at `now` (for the `planned` count).
pub(crate) fn newly_planned(
    rules: &[TaskWarningRule],
    old: Option<&StoredTask>,
    new: Option<&StoredTask>,
    now: DateTime<Utc>,
) -> Vec<(ScheduleId, usize)> {
    let windows = |t: Option<&StoredTask>| {
        t.map(|t| windows_of(rules, t).unwrap_or_default())
            .unwrap_or_default()
    };
    let old_windows = windows(old);
    let mut out: Vec<(ScheduleId, usize)> = Vec::new();
    for window in windows(new) {
        let known = old_windows
            .iter()
            .any(|o| o.id == window.id && o.starts == window.starts && o.task == window.task);
        let ahead = window.upcoming(now, 1, now).len();
        if known || ahead == 0 {
            continue;
        }
        match out.iter_mut().find(|(id, _)| *id == window.id) {
            Some((_, n)) => *n += ahead,
            None => out.push((window.id.clone(), ahead)),
        }
    }
    out
}
