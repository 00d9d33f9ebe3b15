//! `[workspace_tasks]` and `[[task_warnings]]`: warnings before the runs of Workspace's own
//! scheduled tasks, each bad value named with its key.

use std::collections::HashSet;
use std::time::Duration;

use super::fields::{self, Bounds, Errors};
use super::raw::{RawTaskWarning, RawWorkspaceTasks};
use super::schedule_rules::Defaults;
use crate::domain::ScheduleId;
use crate::domain::audience::Audience;
use crate::domain::template::Template;
use crate::domain::workspace_task::{
    DEFAULT_TASK_TYPES, TaskFilter, TaskWarningRule, WARNABLE_TASK_TYPES,
};

/// `[workspace_tasks]`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceTasksConfig {
    /// How often ListScheduledTasks is read.
    pub poll_interval: Duration,
}

const POLL_INTERVAL: Bounds = Bounds {
    min: Duration::from_secs(5),
    max: Duration::from_secs(3600),
};

pub(super) fn validate_polling(
    raw: &RawWorkspaceTasks,
    errors: &mut Errors,
) -> Option<WorkspaceTasksConfig> {
    let poll_interval = errors.take(
        "workspace_tasks.poll_interval",
        fields::bounded_duration(&raw.poll_interval, POLL_INTERVAL),
    )?;
    Some(WorkspaceTasksConfig { poll_interval })
}

/// Every `[[task_warnings]]` entry (`task_warnings[i]`), ids unique among them.
pub(super) fn validate_rules(
    raw: &[RawTaskWarning],
    defaults: &Defaults,
    errors: &mut Errors,
) -> Vec<TaskWarningRule> {
    let mut seen = HashSet::new();
    let mut rules = Vec::new();
    for (i, rule) in raw.iter().enumerate() {
        let key = |name: &str| format!("task_warnings[{i}].{name}");
        if !seen.insert(rule.id.as_str()) {
            errors.push(
                key("id"),
                format!("duplicate task_warnings id {:?}", rule.id),
            );
        }
        if let Some(rule) = validate_rule(rule, &key, defaults, errors) {
            rules.push(rule);
        }
    }
    rules
}

/// A rule's id may not be a schedule's or a window's: deliveries record it as their
/// `schedule_id`.
pub(super) fn check_ids_unique<'a>(
    raw: &[RawTaskWarning],
    mut others: impl Iterator<Item = &'a String>,
    errors: &mut Errors,
) {
    let others: HashSet<&String> = others.by_ref().collect();
    for (i, rule) in raw.iter().enumerate() {
        if others.contains(&rule.id) {
            errors.push(
                format!("task_warnings[{i}].id"),
                format!(
                    "{:?} is also a schedule or window id; ids are unique across schedules, windows and task warnings",
                    rule.id
                ),
            );
        }
    }
}

fn validate_rule(
    raw: &RawTaskWarning,
    key: &dyn Fn(&str) -> String,
    defaults: &Defaults,
    errors: &mut Errors,
) -> Option<TaskWarningRule> {
    let id = errors.take(
        &key("id"),
        match raw.id.starts_with("test:") {
            true => Err(format!(
                "{:?}: ids starting with test: are `send --test`'s",
                raw.id
            )),
            false => ScheduleId::parse(&raw.id).map_err(|e| format!("{e}, got {:?}", raw.id)),
        },
    );
    let workspace = errors.take(&key("workspace"), defaults.workspace(&raw.workspace));
    let task_types = match &raw.task_types {
        None => Some(DEFAULT_TASK_TYPES.map(String::from).to_vec()),
        Some(types) if types.is_empty() => {
            errors.push(key("task_types"), "must list at least one task type");
            None
        }
        Some(types) => {
            let mut ok = true;
            for (i, t) in types.iter().enumerate() {
                if !WARNABLE_TASK_TYPES.contains(&t.as_str()) {
                    errors.push(
                        format!("{}[{i}]", key("task_types")),
                        format!(
                            "{:?} is not a task type that changes a desktop; known: {}",
                            crate::domain::shown(t, 40),
                            WARNABLE_TASK_TYPES.join(", ")
                        ),
                    );
                    ok = false;
                }
            }
            ok.then(|| types.clone())
        }
    };
    let task_name = match raw.task_name.as_deref() {
        Some(glob) if glob.trim().is_empty() => {
            errors.push(
                key("task_name"),
                "must not be empty (leave it out to match every name)",
            );
            None
        }
        other => Some(other.map(str::to_owned)),
    };
    let leads =
        super::window_rules::validate_leads(&raw.notify_before, &key("notify_before"), errors);
    let template = |field: &str, text: &str, errors: &mut Errors| {
        if text.trim().is_empty() {
            errors.push(key(field), "must not be empty");
            return None;
        }
        errors.take(
            &key(field),
            Template::parse(text).map_err(|e| format!("task_warnings {:?}: {e}", raw.id)),
        )
    };
    let message = template("message", &raw.message, errors);
    let cancel_message = match raw.cancel_message.as_deref() {
        None => Some(None),
        Some(text) => template("cancel_message", text, errors).map(Some),
    };
    let audience = match raw.audience.as_deref() {
        None => Some(Audience::default()),
        Some(text) => errors.take(&key("audience"), Audience::parse(text)),
    };
    let max_audience = match raw.max_audience {
        None => Some(None),
        Some(n) => errors
            .take(
                &key("max_audience"),
                fields::bounded(n, super::policy_rules::MAX_AUDIENCE),
            )
            .map(|n| Some(n as usize)),
    };
    let misfire_grace = match &raw.misfire_grace {
        Some(grace) => errors.take(
            &key("misfire_grace"),
            fields::bounded_duration(grace, fields::MISFIRE_GRACE),
        ),
        None => Some(super::schedule_rules::DEFAULT_MISFIRE_GRACE),
    };
    let timezone = match &raw.timezone {
        Some(tz) => errors.take(&key("timezone"), fields::timezone(tz)),
        None => Some(defaults.timezone),
    };
    Some(TaskWarningRule {
        id: id?,
        workspace: workspace?,
        filter: TaskFilter {
            task_types: task_types?,
            task_name: task_name?,
        },
        leads: leads?,
        message: message?,
        cancel_message: cancel_message?,
        audience: audience?,
        max_audience: max_audience?,
        misfire_grace: misfire_grace?,
        timezone: timezone?,
    })
}
