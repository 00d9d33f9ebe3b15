//! Where the running schedule set comes from: the config file and the database, merged, with
//! maintenance windows expanded into their parts and their cancellations (always stored in the
//! database) applied. Database entries are validated with the same rules as the file's; an id
//! the file uses wins over a database row with the same id.

use std::collections::HashSet;
use std::sync::Arc;

use crate::config::{Defaults, Errors, RawSchedule, RawWindow, validate_schedule, validate_window};
use crate::config::{RawResend, SelectorValues};
use crate::domain::maintenance::WindowSpec;
use crate::domain::trigger::Trigger;
use chrono::{DateTime, Utc};

use crate::domain::schedule::{ScheduleSpec, SharedSpec, Source};
use crate::domain::workspace_task::TaskWarningRule;
use crate::store::{
    FREEZE, Pause, Store, StoreError, StoredSchedule, StoredSelectors, StoredTargets, StoredWindow,
};

/// Everything declared, file and database.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    /// Plain schedules (paused ones included, with `enabled = false`).
    pub schedules: Vec<SharedSpec>,
    pub windows: Vec<Arc<WindowSpec>>,
    /// Database rows left out, each described.
    pub problems: Vec<String>,
    /// Warnings before Workspace's scheduled tasks (`[[task_warnings]]`), and the tasks a
    /// rule covers that cannot be warned of.
    pub tasks: super::task_plan::TaskPlan,
    /// Pauses (and the freeze, `*`) in force.
    pub pauses: Vec<Pause>,
    /// When the next pause ends by itself.
    pub pause_end: Option<DateTime<Utc>>,
}

impl Catalog {
    /// What the scheduler runs: plain schedules and every window's parts.
    pub(crate) fn specs(&self) -> Vec<SharedSpec> {
        let mut all = self.schedules.clone();
        for window in self.windows.iter().chain(&self.tasks.windows) {
            all.extend(window.parts().into_iter().map(Arc::new));
        }
        all
    }
}

/// The `[[schedules]]`-shaped view of a stored schedule.
pub(crate) fn raw_of(stored: &StoredSchedule) -> RawSchedule {
    RawSchedule {
        id: stored.id.clone(),
        workspace: stored.extra.workspace.clone(),
        cron: stored.cron.clone(),
        at: stored.at.clone(),
        every: stored.every.clone(),
        start: stored.start.clone(),
        timezone: stored.timezone.clone(),
        pools: stored.pools.clone(),
        message: stored.message.clone(),
        misfire_grace: stored.misfire_grace.clone(),
        enabled: Some(!stored.paused),
        catch_up: stored.catch_up.clone(),
        desktops: stored.extra.desktops.clone(),
        resend_failed: raw_resend(&stored.extra),
        ..Default::default()
    }
    .with_selectors(selector_values(&stored.extra.selectors))
}

/// Stored selector keys as an entry's.
pub(crate) fn selector_values(stored: &StoredSelectors) -> SelectorValues {
    SelectorValues {
        tags: stored.tags.clone(),
        enterprise_project: stored.enterprise_project.clone(),
        users: stored.users.clone(),
        all_desktops: stored.all_desktops,
        audience: stored.audience.clone(),
        max_audience: stored.max_audience,
    }
}

/// The `[[maintenance_windows]]`-shaped view of a stored window.
pub(crate) fn raw_window_of(stored: &StoredWindow) -> RawWindow {
    RawWindow {
        id: stored.id.clone(),
        workspace: stored.extra.workspace.clone(),
        start: stored.start.clone(),
        cron: stored.cron.clone(),
        duration: stored.duration.clone(),
        notify_before: stored.notify_before.clone(),
        timezone: stored.timezone.clone(),
        pools: stored.pools.clone(),
        message: stored.message.clone(),
        start_message: stored.start_message.clone(),
        end_message: stored.end_message.clone(),
        misfire_grace: stored.misfire_grace.clone(),
        desktops: stored.extra.desktops.clone(),
        resend_failed: raw_resend(&stored.extra),
        maintenance_mode: stored.maintenance_mode.then_some(true),
        ..Default::default()
    }
    .with_selectors(selector_values(&stored.extra.selectors))
}

/// `resend_failed` as stored (both columns, or neither).
fn raw_resend(extra: &StoredTargets) -> Option<RawResend> {
    match (extra.resend_attempts, &extra.resend_after) {
        (None, None) => None,
        (attempts, after) => Some(RawResend {
            attempts: attempts.unwrap_or(1),
            after: after.clone().unwrap_or_else(|| "2m".to_owned()),
        }),
    }
}

/// File schedules and windows plus valid database ones, cancellations applied. Without a
/// store (e.g. `check` before the database exists) only the file is read.
pub(crate) async fn load(
    file_schedules: &[SharedSpec],
    file_windows: &[WindowSpec],
    task_rules: &[TaskWarningRule],
    defaults: &Defaults,
    store: Option<&Store>,
) -> Result<Catalog, StoreError> {
    let mut catalog = Catalog {
        schedules: file_schedules.to_vec(),
        ..Catalog::default()
    };
    let mut windows: Vec<WindowSpec> = file_windows.to_vec();
    if let Some(store) = store {
        let file_ids: HashSet<String> = file_schedules
            .iter()
            .map(|s| s.id.to_string())
            .chain(file_windows.iter().map(|w| w.id.to_string()))
            .collect();
        for row in store.list_schedules().await? {
            let key = |name: &str| format!("database schedule {:?}: {name}", row.id);
            if let Some(spec) = validated(&row.id, &file_ids, &mut catalog.problems, |errors| {
                validate_schedule(&raw_of(&row), &key, defaults, Source::Database, errors)
            }) {
                catalog.schedules.push(Arc::new(spec));
            }
        }
        for row in store.list_windows().await? {
            let key = |name: &str| format!("database window {:?}: {name}", row.id);
            if let Some(window) = validated(&row.id, &file_ids, &mut catalog.problems, |errors| {
                validate_window(
                    &raw_window_of(&row),
                    &key,
                    defaults,
                    Source::Database,
                    errors,
                )
            }) {
                windows.push(window);
            }
        }
        if !task_rules.is_empty() {
            catalog.tasks = super::task_plan::plan(task_rules, &store.workspace_tasks().await?);
        }
        let mut cancellations = store.cancellations().await?;
        let mut moves = store.window_moves().await?;
        for window in &mut windows {
            window.cancelled = cancellations.remove(window.id.as_str()).unwrap_or_default();
            if let Some(moves) = moves.remove(window.id.as_str()) {
                window.starts = Trigger::Moved {
                    base: Box::new(window.starts.clone()),
                    moves,
                };
            }
        }
        apply_pauses(
            &mut catalog,
            &mut windows,
            store.pauses().await?,
            Utc::now(),
        );
    }
    catalog.windows = windows.into_iter().map(Arc::new).collect();
    Ok(catalog)
}

/// Pauses in force at `now` (any schedule, window or task warning rule, by id) and the
/// freeze (every schedule; windows and task warnings only when it includes them): what they
/// cover goes disabled; the earliest end still ahead is kept, so the daemon reloads then.
fn apply_pauses(
    catalog: &mut Catalog,
    windows: &mut [WindowSpec],
    pauses: Vec<Pause>,
    now: DateTime<Utc>,
) {
    catalog.pause_end = pauses
        .iter()
        .filter_map(|p| p.until)
        .filter(|u| *u > now)
        .min();
    let active: Vec<Pause> = pauses.into_iter().filter(|p| p.active(now)).collect();
    let paused = |id: &str| active.iter().any(|p| p.schedule_id == id);
    let freeze = active.iter().find(|p| p.schedule_id == FREEZE);
    let windows_too = freeze.is_some_and(|f| f.include_windows);
    for spec in &mut catalog.schedules {
        if spec.enabled && (freeze.is_some() || paused(spec.id.as_str())) {
            *spec = Arc::new(ScheduleSpec {
                enabled: false,
                ..(**spec).clone()
            });
        }
    }
    for window in windows.iter_mut() {
        window.paused = windows_too || paused(window.id.as_str());
    }
    for window in &mut catalog.tasks.windows {
        if windows_too || paused(window.id.as_str()) {
            *window = Arc::new(WindowSpec {
                paused: true,
                ..(**window).clone()
            });
        }
    }
    catalog.pauses = active;
}

/// Runs `validate` for a database row unless the file owns its id; records why a row is left out.
fn validated<T>(
    id: &str,
    file_ids: &HashSet<String>,
    problems: &mut Vec<String>,
    validate: impl FnOnce(&mut Errors) -> Option<T>,
) -> Option<T> {
    if file_ids.contains(id) {
        problems.push(format!(
            "database entry {id:?} is ignored: the config file defines the same id"
        ));
        return None;
    }
    let mut errors = Errors::default();
    match validate(&mut errors) {
        Some(value) if errors.is_empty() => Some(value),
        _ => {
            problems.extend(errors.iter().map(ToString::to_string));
            None
        }
    }
}

/// The file's schedules and windows, as declared.
#[derive(Debug, Clone)]
pub(crate) struct FileSchedules {
    pub schedules: Vec<SharedSpec>,
    pub windows: Vec<WindowSpec>,
    pub task_rules: Vec<TaskWarningRule>,
}

/// What the daemon runs: the schedules, the windows that switch maintenance mode, and when
/// the next pause ends (a reload is due then).
pub(crate) struct Current {
    pub specs: Vec<SharedSpec>,
    pub modes: Vec<Arc<WindowSpec>>,
    pub pause_end: Option<DateTime<Utc>>,
}

/// File plus valid database schedules and windows (invalid database rows are logged and
/// skipped), pauses applied.
pub(crate) async fn current(
    file: &FileSchedules,
    defaults: &Defaults,
    store: &Store,
) -> Result<Current, StoreError> {
    let catalog = load(
        &file.schedules,
        &file.windows,
        &file.task_rules,
        defaults,
        Some(store),
    )
    .await?;
    for problem in catalog.problems.iter().chain(&catalog.tasks.problems) {
        tracing::error!("{problem}");
    }
    let modes = catalog
        .windows
        .iter()
        // A paused window sends nothing and switches nothing on (what it switched on before
        // the pause is still switched off: that follows the recorded switch-ons).
        .filter(|w| w.maintenance_mode && !w.paused)
        .cloned()
        .collect();
    Ok(Current {
        specs: catalog.specs(),
        modes,
        pause_end: catalog.pause_end,
    })
}
