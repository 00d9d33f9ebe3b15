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

/// The same rule warning of the same run of the same task's same target (its name or type
/// may have changed: a rename is not a move).
fn same_run(a: &WindowSpec, b: &WindowSpec) -> bool {
    let key = |w: &WindowSpec| w.task.as_ref().map(|t| (t.task_id.clone(), t.part));
    a.id == b.id && a.starts == b.starts && key(a) == key(b)
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
        let still_planned = new_windows.iter().any(|n| same_run(n, &window));
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
        let known = old_windows.iter().any(|o| same_run(o, &window));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workspace_task::{ApplyObject, TaskFilter, WorkspaceTask};
    use crate::domain::{ScheduleId, WorkspaceName};

    fn rule() -> TaskWarningRule {
        TaskWarningRule {
            id: ScheduleId::parse("r").unwrap(),
            workspace: WorkspaceName::default_name(),
            filter: TaskFilter {
                task_types: vec!["REBOOT".to_owned()],
                task_name: None,
            },
            leads: vec![Duration::from_secs(3600), Duration::from_secs(600)],
            message: crate::domain::template::Template::parse("{action} at {start}").unwrap(),
            cancel_message: None,
            audience: Default::default(),
            max_audience: None,
            misfire_grace: Duration::from_secs(60),
            timezone: chrono_tz::UTC,
        }
    }

    fn task(next: &str) -> StoredTask {
        StoredTask {
            workspace: "default".to_owned(),
            task: WorkspaceTask {
                id: "t".to_owned(),
                name: "nightly".to_owned(),
                task_type: "REBOOT".to_owned(),
                scheduled_type: "DAY".to_owned(),
                enabled: true,
                next_execution_time: next.to_owned(),
                time_zone: "UTC".to_owned(),
                objects: vec![ApplyObject::Desktop("d1".to_owned())],
            },
            problem: None,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn a_moved_run_withdraws_the_warnings_not_yet_due_and_plans_the_new_ones() {
        let (old, new) = (task("2026-12-05 02:00:00"), task("2026-12-05 04:00:00"));
        let now = at("2026-12-05T01:30:00Z"); // the 1 h warning went out, the 10 min one did not
        let gone = withdrawn(
            &[rule()],
            &old,
            Some(&new),
            now,
            (Duration::from_secs(60), 100),
        );
        let dues: Vec<String> = gone.rows.iter().map(|r| r.due_at.to_rfc3339()).collect();
        assert_eq!(dues, ["2026-12-05T01:50:00+00:00"]);
        assert!(gone.rows.iter().all(|r| r.status == Status::Cancelled));
        assert_eq!(gone.rows[0].workspace_task.as_deref(), Some("t"));
        assert_eq!(
            gone.spans,
            [(
                rule().id,
                at("2026-12-05T01:00:00Z"),
                at("2026-12-05T02:00:00Z")
            )]
        );
        assert_eq!(
            newly_planned(&[rule()], Some(&old), Some(&new), now),
            [(rule().id, 2)]
        );
    }

    #[test]
    fn an_unchanged_run_or_one_that_has_come_withdraws_nothing() {
        let old = task("2026-12-05 02:00:00");
        let limits = (Duration::from_secs(60), 100);
        let mut renamed = old.clone();
        renamed.task.name = "renamed".to_owned();
        let now = at("2026-12-05T01:30:00Z");
        // A rename keeps the run: the window is re-planned with the new name, nothing cancelled.
        let same = withdrawn(&[rule()], &old, Some(&renamed), now, limits);
        assert!(same.rows.is_empty() && same.spans.is_empty());
        // The run came (Workspace lists the next one): not "moved".
        let next = task("2026-12-06 02:00:00");
        let after = withdrawn(
            &[rule()],
            &old,
            Some(&next),
            at("2026-12-05T02:00:01Z"),
            limits,
        );
        assert!(after.rows.is_empty() && after.spans.is_empty());
    }

    #[test]
    fn tasks_a_rule_covers_but_cannot_warn_of_are_problems_not_guesses() {
        let mut bad = task("tomorrow");
        bad.task.id = "bad".to_owned();
        let mut nowhere = task("2026-12-05 02:00:00");
        nowhere.task.id = "nowhere".to_owned();
        nowhere.task.objects.clear();
        let mut ran = task("");
        ran.task.id = "ran".to_owned();
        let plan = plan(&[rule()], &[task("2026-12-05 02:00:00"), bad, nowhere, ran]);
        assert_eq!(plan.windows.len(), 1);
        assert_eq!(plan.problems.len(), 2, "{:?}", plan.problems);
        assert!(plan.problems[0].contains("task bad") && plan.problems[0].contains("tomorrow"));
        assert!(plan.problems[1].contains("applied to no desktop"));
        assert_eq!(plan.counts, [("default".to_owned(), 2, 2)]);
    }
}
