//! Workspace's own scheduled tasks (restarts, shutdowns, hibernation, rebuilds that Workspace
//! executes), as the service follows them to warn users before each run. Pure: reading the
//! task's next execution time as Workspace writes it, what the task is aimed at, and whether a
//! `[[task_warnings]]` rule covers it.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::sync::Arc;
use std::time::Duration;

use super::audience::{Audience, AudienceSpec, Selector};
use super::maintenance::{Cancellations, TaskRun, WindowSpec};
use super::schedule::Source;
use super::template::Template;
use super::trigger::Trigger;
use super::{DesktopId, PoolId, ScheduleId, WorkspaceName};

/// The task types warned about when a rule does not list its own.
pub const DEFAULT_TASK_TYPES: [&str; 4] = ["REBOOT", "STOP", "HIBERNATE", "REBUILD"];

/// The task types a rule may list: those that change what a user's desktop does.
pub const WARNABLE_TASK_TYPES: [&str; 5] = ["START", "STOP", "REBOOT", "HIBERNATE", "REBUILD"];

/// `{action}` for a task type: what will happen to the desktop, as a verb phrase.
pub fn action(task_type: &str) -> &'static str {
    match task_type {
        "REBOOT" => "restart",
        "STOP" => "shut down",
        "HIBERNATE" => "hibernate",
        "REBUILD" => "be rebuilt",
        "START" => "start",
        _ => "change",
    }
}

/// What a task is applied to (ShowScheduledTasks' `apply_objects`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum ApplyObject {
    Desktop(String),
    Pool(String),
    AllDesktops,
    /// `key=value`.
    Tag(String, String),
}

impl ApplyObject {
    /// One `{object_type, object_id, object_name}`; an object that cannot be aimed at is an
    /// error naming it (never guessed).
    pub fn parse(object_type: &str, id: &str, name: &str) -> Result<ApplyObject, String> {
        match object_type {
            "DESKTOP" if !id.is_empty() => Ok(ApplyObject::Desktop(id.to_owned())),
            "DESKTOP_POOL" if !id.is_empty() => Ok(ApplyObject::Pool(id.to_owned())),
            "ALL_DESKTOPS" => Ok(ApplyObject::AllDesktops),
            "DESKTOP_TAG" => {
                let spelled = [id, name]
                    .into_iter()
                    .find_map(|text| super::audience::parse_tag(text).ok());
                spelled.map(|(k, v)| ApplyObject::Tag(k, v)).ok_or_else(|| {
                    format!(
                        "a DESKTOP_TAG object spelled {:?} / {:?}, not key=value",
                        super::shown(id, 80),
                        super::shown(name, 80)
                    )
                })
            }
            other => Err(format!(
                "an apply object of type {:?} with id {:?}",
                super::shown(other, 40),
                super::shown(id, 80)
            )),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ApplyObject::Desktop(id) => format!("desktop {id}"),
            ApplyObject::Pool(id) => format!("pool {id}"),
            ApplyObject::AllDesktops => "all desktops".to_owned(),
            ApplyObject::Tag(k, v) => format!("tag {k}={v}"),
        }
    }
}

/// A task's next run as read from Workspace: the instant, and the zone its wall time is in
/// (for `{start}`), or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRun {
    pub at: DateTime<Utc>,
    /// The task's zone when it is an IANA name or a whole-hour offset; `None` otherwise.
    pub zone: Option<Tz>,
}

/// Reads `next_execution_time` (`yyyy-MM-dd HH:mm:ss`, wall time) in `time_zone`, which may be
/// an IANA name (`Asia/Shanghai`) or an offset (`GMT+08:00`); the time may also carry its own
/// offset appended (`2026-12-05 02:00:00 GMT+08:00`), which then wins. A wall time that does
/// not exist or exists twice in the zone (a DST change) is refused, never guessed.
pub fn next_run(time: &str, time_zone: &str) -> Result<NextRun, String> {
    let time = time.trim();
    let (wall, appended) = match time.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => (time[..at].trim(), Some(time[at..].trim())),
        None => (time, None),
    };
    let naive = NaiveDateTime::parse_from_str(wall, "%Y-%m-%d %H:%M:%S").map_err(|_| {
        format!(
            "next_execution_time {:?} is not yyyy-MM-dd HH:mm:ss",
            super::shown(time, 60)
        )
    })?;
    let zone_tz = time_zone.trim().parse::<Tz>().ok();
    let zone_offset = parse_offset(time_zone.trim());
    let offset = match appended {
        Some(text) => Some(parse_offset(text).ok_or_else(|| {
            format!(
                "next_execution_time {:?} ends in {:?}, not an offset like GMT+08:00",
                super::shown(time, 60),
                super::shown(text, 20)
            )
        })?),
        None => zone_offset,
    };
    let at = match (offset, zone_tz) {
        (Some(offset), _) => single(offset.from_local_datetime(&naive), time)?,
        (None, Some(tz)) => single(tz.from_local_datetime(&naive), time)?,
        (None, None) => {
            return Err(format!(
                "time_zone {:?} is neither a zone name (Asia/Shanghai) nor an offset (GMT+08:00)",
                super::shown(time_zone, 40)
            ));
        }
    };
    let zone = zone_tz.or_else(|| offset.and_then(whole_hour_zone));
    Ok(NextRun { at, zone })
}

fn single<T: TimeZone>(
    local: LocalResult<DateTime<T>>,
    time: &str,
) -> Result<DateTime<Utc>, String> {
    match local {
        LocalResult::Single(at) => Ok(at.with_timezone(&Utc)),
        _ => Err(format!(
            "next_execution_time {:?} does not exist or is ambiguous in its zone (a clock change)",
            super::shown(time, 60)
        )),
    }
}

/// `GMT+08:00`, `UTC+8`, `+08:00`, `GMT-05:30`, `GMT`, `UTC`.
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let rest = ["GMT", "UTC"]
        .into_iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        .unwrap_or(text);
    if rest.is_empty() {
        return (text == "GMT" || text == "UTC").then(|| FixedOffset::east_opt(0))?;
    }
    let (sign, digits) = match rest.as_bytes()[0] {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None => (digits, "0"),
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 14 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// The `Etc/GMT` zone of a whole-hour offset (whose names count the other way round).
fn whole_hour_zone(offset: FixedOffset) -> Option<Tz> {
    let seconds = offset.local_minus_utc();
    if seconds % 3600 != 0 {
        return None;
    }
    let hours = -seconds / 3600;
    let name = match hours {
        0 => "Etc/GMT".to_owned(),
        h => format!("Etc/GMT{h:+}"),
    };
    name.parse().ok()
}

/// A task as the service follows it: ListScheduledTasks' row and ShowScheduledTasks' objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceTask {
    pub id: String,
    pub name: String,
    pub task_type: String,
    pub scheduled_type: String,
    pub enabled: bool,
    /// `next_execution_time` and `time_zone` as Workspace wrote them.
    pub next_execution_time: String,
    pub time_zone: String,
    pub objects: Vec<ApplyObject>,
}

impl WorkspaceTask {
    /// The next run, or why it cannot be read.
    pub fn next_run(&self) -> Result<NextRun, String> {
        next_run(&self.next_execution_time, &self.time_zone)
    }

    /// Whether anything is planned for it at all: enabled, a clock time (not `LIFE_CYCLE`).
    pub fn runs_on_a_clock(&self) -> bool {
        self.enabled && self.scheduled_type != "LIFE_CYCLE"
    }
}

/// A `[[task_warnings]]` rule's filter: the task types, and an optional glob on the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFilter {
    pub task_types: Vec<String>,
    pub task_name: Option<String>,
}

impl TaskFilter {
    pub fn covers(&self, task: &WorkspaceTask) -> bool {
        task.runs_on_a_clock()
            && self.task_types.contains(&task.task_type)
            && self
                .task_name
                .as_deref()
                .is_none_or(|glob| glob_matches(glob, &task.name))
    }
}

/// `*` (any run of characters) and `?` (one character); everything else literal.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some('*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    g = sg + 1;
                    t = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == '*')
}

/// A `[[task_warnings]]` rule, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskWarningRule {
    pub id: ScheduleId,
    pub workspace: WorkspaceName,
    pub filter: TaskFilter,
    /// Distinct, longest first.
    pub leads: Vec<Duration>,
    pub message: Template,
    pub cancel_message: Option<Template>,
    /// `all` or `connected`, and the rule's own guard.
    pub audience: Audience,
    pub max_audience: Option<usize>,
    pub misfire_grace: Duration,
    /// The zone `{start}` is shown in when the task's own zone has no name.
    pub timezone: Tz,
}

impl TaskWarningRule {
    /// The windows warning of `task`'s run at `run`: one for its desktops and pools, one per
    /// tag, one for all desktops (which makes the others needless). Empty when nothing is
    /// aimed at.
    pub fn windows(&self, task: &WorkspaceTask, run: &NextRun) -> Vec<WindowSpec> {
        let (mut desktops, mut pools, mut selectors) = (Vec::new(), Vec::new(), Vec::new());
        for object in &task.objects {
            match object {
                ApplyObject::Desktop(id) => desktops.extend(DesktopId::parse(id).ok()),
                ApplyObject::Pool(id) => pools.extend(PoolId::parse(id).ok()),
                ApplyObject::Tag(k, v) => selectors.push(Selector {
                    tags: vec![(k.clone(), v.clone())],
                    ..Selector::default()
                }),
                ApplyObject::AllDesktops => {
                    desktops.clear();
                    pools.clear();
                    selectors = vec![Selector {
                        all_desktops: true,
                        ..Selector::default()
                    }];
                    break;
                }
            }
        }
        desktops.dedup();
        pools.dedup();
        let mut targets: Vec<(Vec<PoolId>, Vec<DesktopId>, Selector)> = Vec::new();
        if !desktops.is_empty() || !pools.is_empty() {
            targets.push((pools, desktops, Selector::default()));
        }
        targets.extend(selectors.into_iter().map(|s| (Vec::new(), Vec::new(), s)));
        targets
            .into_iter()
            .enumerate()
            .map(|(part, (pools, desktops, selector))| WindowSpec {
                id: self.id.clone(),
                workspace: self.workspace.clone(),
                starts: Trigger::At(run.at),
                duration: Duration::ZERO,
                leads: self.leads.clone(),
                timezone: run.zone.unwrap_or(self.timezone),
                pools,
                desktops,
                audience: AudienceSpec {
                    selector,
                    audience: self.audience,
                    max_audience: self.max_audience,
                },
                resend_failed: None,
                message: self.message.clone(),
                start_message: None,
                end_message: None,
                misfire_grace: self.misfire_grace,
                source: Source::Workspace,
                cancelled: Cancellations::default(),
                paused: false,
                maintenance_mode: false,
                task: Some(Arc::new(TaskRun {
                    task_id: task.id.clone(),
                    task_name: task.name.clone(),
                    task_type: task.task_type.clone(),
                    part,
                })),
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "workspace_task_tests.rs"]
mod tests;
