//! Maintenance windows (a little over 400 lines: the window, its parts and the Content they
//! implement belong together): a start (one-off or cron), a duration, warnings `notify_before`
//! the start, and optional start and end messages. Pure. A window becomes ordinary schedules, one
//! per warning (and per start/end message), whose trigger is the window's start shifted by the
//! lead, so firing, misfires, restarts and DST handling are the scheduler's as for any
//! schedule. What differs is the text (a template rendered for each occurrence) and the
//! deadline (the next warning, so a countdown is never sent late with a wrong number).

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::any::Any;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::schedule::{
    CatchUpPolicy, Content, ResendFailed, ScheduleSpec, SharedContent, Source,
};
use crate::domain::template::{Template, Values};
use crate::domain::trigger::Trigger;
use crate::domain::{DesktopId, PoolId, ScheduleId, WorkspaceName};

/// Which occurrences are cancelled (stored in the database, so it applies to file windows too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cancellations {
    pub all: bool,
    pub starts: BTreeSet<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    pub id: ScheduleId,
    /// The workspace (region, project, account) its messages go to.
    pub workspace: WorkspaceName,
    /// When windows start: `Trigger::At` (one-off) or `Trigger::Cron` (recurring).
    pub starts: Trigger,
    pub duration: Duration,
    /// Distinct, longest first.
    pub leads: Vec<Duration>,
    pub timezone: Tz,
    pub pools: Vec<PoolId>,
    pub desktops: Vec<DesktopId>,
    /// Desktops chosen by tags, users, enterprise project (its warnings go to them too).
    pub audience: super::audience::AudienceSpec,
    /// Re-sends to desktops that did not get a message, never past its deadline.
    pub resend_failed: Option<ResendFailed>,
    pub message: Template,
    pub start_message: Option<Template>,
    pub end_message: Option<Template>,
    pub misfire_grace: Duration,
    pub source: Source,
    pub cancelled: Cancellations,
    /// Paused (`schedule pause`, or a freeze that includes windows): nothing goes out.
    pub paused: bool,
    /// From start to end, its desktops are in Workspace's maintenance mode (switched on and
    /// off by the service; `engine::maintenance_mode`).
    pub maintenance_mode: bool,
    /// Set when the window is one run of a Workspace scheduled task, warned about by a
    /// `[[task_warnings]]` rule (whose id is the window's `id`).
    pub task: Option<Arc<TaskRun>>,
}

/// One run of a Workspace scheduled task, as a window warning of it knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRun {
    /// Workspace's task id, recorded on each delivery.
    pub task_id: String,
    pub task_name: String,
    pub task_type: String,
    /// Which of the task's targets this window carries (a task aimed at several tags is one
    /// window per tag): part of the id of its schedules.
    pub part: usize,
}

/// Which message of a window a schedule stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// The warning `leads[i]` before the start.
    Warning(usize),
    Start,
    End,
}

/// One message of a window, as the content of the schedule that carries it: the countdown
/// text rendered for each occurrence, its deadline, and the window's cancellations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WindowPart {
    pub window: Arc<WindowSpec>,
    pub kind: PartKind,
}

impl WindowPart {
    /// The start of the window whose message is due at `due`.
    fn window_start(&self, due: DateTime<Utc>) -> DateTime<Utc> {
        shift(due, -self.window.offset(self.kind))
    }
}

impl Content for WindowPart {
    fn occurrence(&self, due: DateTime<Utc>, max_elapsed: Duration) -> (String, DateTime<Utc>) {
        let start = self.window_start(due);
        (
            self.window.render(self.kind, start),
            self.window.deadline(self.kind, start, max_elapsed),
        )
    }

    fn countdown(&self, due: DateTime<Utc>) -> Option<crate::domain::template::Countdown> {
        let PartKind::Warning(_) = self.kind else {
            return None;
        };
        let start = self.window_start(due);
        self.window
            .template(self.kind)
            .counts_down()
            .then(|| crate::domain::template::Countdown {
                to: start,
                text: self
                    .window
                    .template(self.kind)
                    .render_keeping_countdown(&self.window.values(self.kind, start)),
            })
    }

    /// An end message ("maintenance finished") for a window whose start the service never saw
    /// coming (it started before the window was first loaded): nobody was warned or told it
    /// started, so nothing is said when it ends.
    fn skipped(&self, due: DateTime<Utc>, anchor: DateTime<Utc>) -> Option<&'static str> {
        (self.kind == PartKind::End && self.window_start(due) < anchor).then_some(
            "the window started before it was scheduled: no end message without its start",
        )
    }

    fn cancellable(&self) -> bool {
        true
    }

    fn workspace_task(&self) -> Option<&str> {
        self.window.task.as_ref().map(|t| t.task_id.as_str())
    }

    fn batch_prefix(&self) -> String {
        match &self.window.task {
            Some(task) => format!("task:{}:{}:desktops:", task.task_id, task.part),
            None => "desktops:".to_owned(),
        }
    }

    /// Cancellations name a window start.
    fn cancellation_key(&self, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(self.window_start(due))
    }

    fn is_cancelled(&self, due: DateTime<Utc>) -> bool {
        self.window.is_cancelled(self.window_start(due))
    }

    fn describe(&self, _trigger: &Trigger, _tz: Tz) -> String {
        format!(
            "{} of window {} ({})",
            self.kind.label(&self.window),
            self.window.id,
            self.window.starts_description()
        )
    }

    fn declared_text(&self) -> &str {
        self.window.template(self.kind).source()
    }

    fn noun(&self) -> &'static str {
        "maintenance window"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same_as(&self, other: &dyn Content) -> bool {
        other.as_any().downcast_ref::<WindowPart>() == Some(self)
    }
}

/// One occurrence of a window: its start and the span from its first warning to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub start: DateTime<Utc>,
    pub first_due: DateTime<Utc>,
    pub last_due: DateTime<Utc>,
}

/// One upcoming message of a window, for `check` and `list`.
#[derive(Debug, Clone)]
pub struct Upcoming {
    pub due_at: DateTime<Utc>,
    pub window_start: DateTime<Utc>,
    pub kind: PartKind,
    pub text: String,
    pub cancelled: bool,
}

use crate::domain::time_math::{delta, minus, plus, shift};

impl WindowSpec {
    fn kinds(&self) -> Vec<PartKind> {
        let mut kinds: Vec<PartKind> = (0..self.leads.len()).map(PartKind::Warning).collect();
        if self.start_message.is_some() {
            kinds.push(PartKind::Start);
        }
        if self.end_message.is_some() {
            kinds.push(PartKind::End);
        }
        kinds
    }

    /// How far a part's due time is from the window start.
    pub fn offset(&self, kind: PartKind) -> TimeDelta {
        match kind {
            PartKind::Warning(i) => -delta(self.leads[i]),
            PartKind::Start => TimeDelta::zero(),
            PartKind::End => delta(self.duration),
        }
    }

    /// The schedules that carry this window's messages.
    pub fn parts(self: &Arc<Self>) -> Vec<ScheduleSpec> {
        // The windows of one task rule share their id (it is what deliveries record); their
        // schedules are told apart by the task and its target.
        let base = match &self.task {
            Some(task) => self
                .id
                .derived(&format!("task-{}-{}", task.task_id, task.part)),
            None => self.id.clone(),
        };
        self.kinds()
            .into_iter()
            .map(|kind| {
                let suffix = match kind {
                    PartKind::Warning(i) => format!("warn-{}s", self.leads[i].as_secs()),
                    PartKind::Start => "start".to_owned(),
                    PartKind::End => "end".to_owned(),
                };
                ScheduleSpec {
                    id: base.derived(&suffix),
                    record_as: self.id.clone(),
                    workspace: self.workspace.clone(),
                    trigger: Trigger::Shifted {
                        base: Box::new(self.starts.clone()),
                        offset: self.offset(kind),
                    },
                    timezone: self.timezone,
                    pools: self.pools.clone(),
                    desktops: self.desktops.clone(),
                    audience: self.audience.clone(),
                    resend_failed: self.resend_failed,
                    misfire_grace: self.misfire_grace,
                    enabled: !self.cancelled.all && !self.paused,
                    source: self.source,
                    // Warnings keep their own rule: the deadline, never a replay.
                    catch_up: CatchUpPolicy::Latest,
                    content: SharedContent(Arc::new(WindowPart {
                        window: Arc::clone(self),
                        kind,
                    })),
                }
            })
            .collect()
    }

    fn template(&self, kind: PartKind) -> &Template {
        match kind {
            PartKind::Warning(_) => &self.message,
            PartKind::Start => self.start_message.as_ref().unwrap_or(&self.message),
            PartKind::End => self.end_message.as_ref().unwrap_or(&self.message),
        }
    }

    /// The text of `kind` for the window starting at `start`.
    pub fn render(&self, kind: PartKind, start: DateTime<Utc>) -> String {
        self.template(kind).render(&self.values(kind, start))
    }

    /// Any other template (a task warning's cancel notice) with the values of the window
    /// starting at `start`, nothing left to count down.
    pub fn render_other(&self, template: &Template, start: DateTime<Utc>) -> String {
        template.render(&self.values(PartKind::Start, start))
    }

    /// The template values of `kind` for the window starting at `start`, the countdown as
    /// planned (the lead).
    fn values(&self, kind: PartKind, start: DateTime<Utc>) -> Values<'_> {
        let local = start.with_timezone(&self.timezone);
        let end = plus(start, self.duration).with_timezone(&self.timezone);
        let time_left = match kind {
            PartKind::Warning(i) => self.leads[i],
            PartKind::Start | PartKind::End => Duration::ZERO,
        };
        Values {
            start: local.format("%H:%M").to_string(),
            end: end.format("%H:%M").to_string(),
            date: local.format("%Y-%m-%d").to_string(),
            time_left,
            duration: self.duration,
            window: self.id.as_str(),
            action: self
                .task
                .as_ref()
                .map_or("", |t| crate::domain::workspace_task::action(&t.task_type)),
            task_name: self.task.as_ref().map_or("", |t| t.task_name.as_str()),
        }
    }

    /// No attempt after this: the next warning (or the start) for a warning, the end for the
    /// start message, `max_elapsed` after the end for the end message.
    pub fn deadline(
        &self,
        kind: PartKind,
        start: DateTime<Utc>,
        max_elapsed: Duration,
    ) -> DateTime<Utc> {
        let end = plus(start, self.duration);
        match kind {
            PartKind::Warning(i) => match self.leads.get(i + 1) {
                Some(next) => minus(start, *next),
                None => start,
            },
            PartKind::Start => plus(start, max_elapsed).min(end),
            PartKind::End => plus(end, max_elapsed),
        }
    }

    pub fn is_cancelled(&self, start: DateTime<Utc>) -> bool {
        self.cancelled.all || self.cancelled.starts.contains(&start)
    }

    /// The next occurrence a cancellation at `now` applies to: the next window that has not
    /// started yet (its warnings may already be under way), with the span of its messages.
    pub fn next_to_cancel(&self, now: DateTime<Utc>) -> Option<Occurrence> {
        let start = self.next_start_after(now)?;
        let longest = self.leads.first().copied().unwrap_or_default();
        Some(Occurrence {
            start,
            first_due: minus(start, longest),
            last_due: plus(start, self.duration),
        })
    }

    /// The start of the occurrence under way at `now` (started, not ended), if any.
    pub fn running_start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = self.next_start_after(shift(now, -delta(self.duration)))?;
        (start <= now).then_some(start)
    }

    /// The first window start strictly after `after`.
    pub fn next_start_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.starts.next_after(self.timezone, after, after)
    }

    /// Everything the window will send after `after`, for up to `windows` occurrences. An end
    /// message goes out only for a window whose start came after `end_known_since` (when the
    /// service first loaded the window's end message; see [`WindowPart`]'s `skipped`).
    pub fn upcoming(
        &self,
        after: DateTime<Utc>,
        windows: usize,
        end_known_since: DateTime<Utc>,
    ) -> Vec<Upcoming> {
        let mut out = Vec::new();
        let mut cursor = after;
        for _ in 0..windows {
            let Some(start) = self.next_start_after(cursor) else {
                break;
            };
            cursor = start;
            for kind in self.kinds() {
                let due_at = shift(start, self.offset(kind));
                let unannounced = kind == PartKind::End && start < end_known_since;
                if due_at > after && !unannounced {
                    out.push(Upcoming {
                        due_at,
                        window_start: start,
                        kind,
                        text: self.render(kind, start),
                        cancelled: self.is_cancelled(start),
                    });
                }
            }
        }
        out.sort_by_key(|u| u.due_at);
        out
    }

    pub fn starts_description(&self) -> String {
        starts_description(&self.starts, self.timezone)
    }
}

fn starts_description(starts: &Trigger, tz: Tz) -> String {
    match starts {
        Trigger::Cron(expr) => format!("cron {:?}", expr.as_str()),
        Trigger::At(at) => format!("start {}", at.with_timezone(&tz).to_rfc3339()),
        Trigger::Moved { base, moves } => format!(
            "{}, postponed: {}",
            starts_description(base, tz),
            crate::domain::trigger::moved_list(moves, tz)
        ),
        other => other.describe(tz),
    }
}

impl PartKind {
    pub fn label(self, window: &WindowSpec) -> String {
        match self {
            PartKind::Warning(i) => format!(
                "warning {} before",
                crate::domain::template::humanize(window.leads[i])
            ),
            PartKind::Start => "start message".to_owned(),
            PartKind::End => "end message".to_owned(),
        }
    }
}

#[cfg(test)]
#[path = "maintenance_tests.rs"]
mod tests;
