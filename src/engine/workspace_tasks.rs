//! Following Workspace's own scheduled tasks: every `[workspace_tasks] poll_interval`, each
//! workspace a `[[task_warnings]]` rule names has its task list read (ListScheduledTasks), and
//! each new or changed task its targets (ShowScheduledTasks). A change is recorded in the
//! `workspace_tasks` table, which the catalog turns into warning windows (so the scheduler
//! fires them like any window, and every instance and command sees the same plan); a run that
//! moved or went away has its unsent warnings recorded `cancelled` and, when a warning of it
//! already went out and the rule has a `cancel_message`, a notice sent to the same targets.
//! A list that cannot be read changes nothing: planned warnings keep their time.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::routes::Routes;
use super::starter::Starter;
use super::task_plan::{self, Withdrawn};
use crate::domain::Status;
use crate::domain::workspace_task::{ApplyObject, TaskWarningRule, WorkspaceTask};
use crate::platform::clock::Clock;
use crate::store::{NewDelivery, Store, StoreError, StoredTask};
use crate::workspace::WorkspaceClient;

/// The rules in force; a reload replaces them.
pub(crate) type SharedRules = Arc<RwLock<Vec<TaskWarningRule>>>;

pub(crate) struct TaskFollower {
    pub store: Store,
    pub routes: Arc<Routes>,
    pub rules: SharedRules,
    pub poll_interval: Duration,
    pub starter: Starter,
    pub clock: Clock,
    /// `retry.max_elapsed` (a cancel notice's deadline) and `jobs.desktop_batch`.
    pub limits: (Duration, usize),
}

impl TaskFollower {
    /// Polls until `stop`.
    pub(crate) async fn run(self, stop: CancellationToken) {
        loop {
            self.poll_all().await;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }

    fn rules(&self) -> Vec<TaskWarningRule> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// One read of every workspace a rule names.
    pub(crate) async fn poll_all(&self) {
        let rules = self.rules();
        let mut workspaces: Vec<&str> = rules.iter().map(|r| r.workspace.as_str()).collect();
        workspaces.sort_unstable();
        workspaces.dedup();
        for workspace in workspaces {
            crate::platform::metrics::task_poll_known(workspace);
            if let Err(err) = self.poll(workspace, &rules).await {
                tracing::error!(workspace, error = %err, "cannot record Workspace's scheduled tasks; trying again at the next poll");
            }
        }
    }

    async fn poll(&self, workspace: &str, rules: &[TaskWarningRule]) -> Result<(), StoreError> {
        let client = match self.routes.get(workspace).map(|r| r.lister()) {
            Some(Ok(client)) => Arc::clone(client),
            Some(Err(why)) => {
                return self
                    .failed(
                        workspace,
                        why.replace(
                            "desktops cannot be listed",
                            "Workspace's scheduled tasks cannot be read",
                        ),
                    )
                    .await;
            }
            None => return Ok(()),
        };
        let listed = match client.list_scheduled_tasks().await {
            Ok(listed) => listed,
            Err(err) => {
                return self
                    .failed(workspace, format!("ListScheduledTasks failed: {err}"))
                    .await;
            }
        };
        let mut stored: HashMap<String, StoredTask> = self
            .store
            .workspace_tasks()
            .await?
            .into_iter()
            .filter(|t| t.workspace == workspace)
            .map(|t| (t.task.id.clone(), t))
            .collect();
        for row in listed {
            let old = stored.remove(&row.id);
            if old
                .as_ref()
                .is_some_and(|old| same_listing(old, &row, rules))
            {
                continue;
            }
            let Some(new) = self.read_task(&client, workspace, row, rules).await else {
                // Not readable now: the old row (and its warnings) stays until the next poll.
                continue;
            };
            self.change(rules, old.as_ref(), Some(&new)).await?;
        }
        for gone in stored.into_values() {
            self.change(rules, Some(&gone), None).await?;
        }
        self.store
            .record_task_poll(workspace, self.clock.now(), None)
            .await?;
        let plan = task_plan::plan(rules, &self.store.workspace_tasks().await?);
        let (followed, unreadable) = plan
            .counts
            .iter()
            .find(|c| c.0 == workspace)
            .map_or((0, 0), |c| (c.1, c.2));
        crate::platform::metrics::tasks_followed(workspace, followed, unreadable);
        Ok(())
    }

    async fn failed(&self, workspace: &str, why: String) -> Result<(), StoreError> {
        tracing::warn!(
            workspace,
            "cannot read Workspace's scheduled tasks (planned warnings keep their time; trying again in {}): {why}",
            humantime::format_duration(self.poll_interval)
        );
        crate::platform::metrics::task_poll_failed(workspace);
        self.store
            .record_task_poll(workspace, self.clock.now(), Some(&why))
            .await
    }

    /// A new or changed task as it will be recorded: its targets read (when a rule covers
    /// it) and what keeps it from being warned of. None: its targets could not be read now.
    async fn read_task(
        &self,
        client: &WorkspaceClient,
        workspace: &str,
        mut task: WorkspaceTask,
        rules: &[TaskWarningRule],
    ) -> Option<StoredTask> {
        let covered = rules
            .iter()
            .any(|r| r.workspace.as_str() == workspace && r.filter.covers(&task));
        let mut problem = None;
        if covered {
            match client.scheduled_task_objects(&task.id).await {
                Ok(objects) => {
                    let (good, bad): (Vec<_>, Vec<_>) =
                        objects.into_iter().partition(Result::is_ok);
                    task.objects = good
                        .into_iter()
                        .filter_map(Result::ok)
                        .collect::<Vec<ApplyObject>>();
                    if let Some(Err(first)) = bad.into_iter().next() {
                        problem = Some(format!("its targets include {first}"));
                    }
                }
                Err(err) => {
                    tracing::warn!(workspace, task_id = %task.id, "cannot read what Workspace task {:?} is applied to (trying again at the next poll): ShowScheduledTasks failed: {err}", task.name);
                    return None;
                }
            }
            if problem.is_none()
                && !task.next_execution_time.trim().is_empty()
                && let Err(why) = task.next_run()
            {
                problem = Some(why);
            }
        }
        let stored = StoredTask {
            workspace: workspace.to_owned(),
            task,
            problem,
        };
        if let Some(problem) = &stored.problem {
            tracing::warn!(workspace, task_id = %stored.task.id, "{} gets no warnings: {problem}", task_plan::describe(&stored));
        }
        Some(stored)
    }

    /// Records `old` → `new` with what it takes back; carries the cancel notices it adds.
    async fn change(
        &self,
        rules: &[TaskWarningRule],
        old: Option<&StoredTask>,
        new: Option<&StoredTask>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let withdrawn = match old {
            Some(old) => task_plan::withdrawn(rules, old, new, now, self.limits),
            None => Withdrawn {
                rows: Vec::new(),
                spans: Vec::new(),
                windows: Vec::new(),
            },
        };
        let cancelled = withdrawn.rows.len();
        let mut rows = withdrawn.rows;
        if let Some(old) = old {
            rows.extend(
                self.notices(rules, old, &withdrawn.spans, &withdrawn.windows, now)
                    .await?,
            );
        }
        let notices = rows.len() - cancelled;
        let Some(claimed) = self
            .store
            .replace_task(old, new, &rows, &withdrawn.spans, now)
            .await?
        else {
            tracing::debug!("another instance recorded this task change first");
            return Ok(());
        };
        let subject = task_plan::describe(new.or(old).expect("a change has a side"));
        match (old, new) {
            (None, Some(_)) => tracing::info!("following {subject}"),
            (Some(_), Some(new)) => {
                tracing::info!(next_execution_time = %new.task.next_execution_time, cancelled, notices, "{subject} changed")
            }
            (Some(_), None) => tracing::info!(
                cancelled,
                notices,
                "{subject} is gone from Workspace's list"
            ),
            (None, None) => {}
        }
        for (rule, ..) in &withdrawn.spans {
            let count = rows
                .iter()
                .filter(|r| r.status == Status::Cancelled && r.schedule_id == *rule)
                .count();
            crate::platform::metrics::task_warnings(rule.as_str(), "cancelled", count);
        }
        for (rule, count) in task_plan::newly_planned(rules, old, new, now) {
            crate::platform::metrics::task_warnings(rule.as_str(), "planned", count);
        }
        self.starter.start(claimed);
        Ok(())
    }

    /// The cancel notices of a withdrawn run: to each target a warning of it went out to,
    /// for rules with a `cancel_message`.
    async fn notices(
        &self,
        rules: &[TaskWarningRule],
        old: &StoredTask,
        spans: &[(crate::domain::ScheduleId, DateTime<Utc>, DateTime<Utc>)],
        windows: &[Arc<crate::domain::maintenance::WindowSpec>],
        now: DateTime<Utc>,
    ) -> Result<Vec<NewDelivery>, StoreError> {
        let mut out = Vec::new();
        for ((rule_id, first, start), window) in spans.iter().zip(windows) {
            let Some(rule) = rules.iter().find(|r| r.id == *rule_id) else {
                continue;
            };
            let Some(cancel) = &rule.cancel_message else {
                continue;
            };
            let targets = self
                .store
                .task_warning_targets(
                    (rule_id.as_str(), &old.workspace, &old.task.id),
                    *first,
                    *start,
                )
                .await?;
            let message = window.render_other(cancel, *start);
            let deadline = crate::domain::time_math::plus(now, self.limits.0);
            out.extend(targets.into_iter().map(|target| NewDelivery {
                workspace_task: Some(old.task.id.clone()),
                ..NewDelivery::new(
                    (rule_id.clone(), rule.workspace.clone()),
                    target,
                    (now, deadline),
                    message.clone(),
                )
            }));
        }
        Ok(out)
    }
}

/// True when the listed fields are as recorded (its targets are read again only on a change),
/// and a task a rule covers has had its targets read (a reload may have added the rule).
fn same_listing(old: &StoredTask, row: &WorkspaceTask, rules: &[TaskWarningRule]) -> bool {
    let task = &old.task;
    let unread = task.objects.is_empty()
        && old.problem.is_none()
        && rules
            .iter()
            .any(|r| r.workspace.as_str() == old.workspace && r.filter.covers(task));
    !unread
        && task.name == row.name
        && task.task_type == row.task_type
        && task.scheduled_type == row.scheduled_type
        && task.enabled == row.enabled
        && task.next_execution_time == row.next_execution_time
        && task.time_zone == row.time_zone
}
