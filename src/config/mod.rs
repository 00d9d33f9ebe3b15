//! Loads and validates the configuration: built-in defaults, then the TOML file, then
//! `WORKSPACE_NOTIFIER__...` environment variables. Produces typed values only; it opens no
//! database and makes no request. Every failing rule names its key path and value; the CLI
//! turns [`ConfigError`] into exit code 78.

mod fields;
mod file;
mod policy_rules;
mod raw;
mod schedule_rules;
mod selector_rules;
mod strict;
mod task_rules;
mod window_rules;
mod workspace_rules;

use chrono_tz::Tz;
use reqwest::Url;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use fields::FieldError;
pub(crate) use fields::{Errors, instant};
pub(crate) use file::read_bounded;
pub use policy_rules::{ApiConfig, HistoryConfig, JobsConfig, TargetsConfig};
pub(crate) use raw::{RawConfig, RawResend, RawSchedule, RawSelectors, RawWindow, SelectorValues};
pub(crate) use schedule_rules::{Defaults, validate_schedule};
pub use task_rules::WorkspaceTasksConfig;
pub(crate) use window_rules::validate_window;
use workspace_rules::validate_workspaces;

use crate::domain::maintenance::WindowSpec;
use crate::domain::retry::RetryPolicy;
use crate::domain::schedule::Source;
use crate::domain::{ProjectId, WorkspaceName};
use crate::workspace::CredentialPaths;

/// Where the config is read from when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/workspace-notifier/config.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed, or a value had the wrong type.
    #[error("{path}: {}", file::cut(message))]
    Load { path: PathBuf, message: String },
    /// The file parsed, but some values break the rules.
    #[error("{path}: invalid configuration:\n  {}", .errors.iter().map(|e| file::cut(&e.to_string())).collect::<Vec<_>>().join("\n  "))]
    Invalid {
        path: PathBuf,
        errors: Vec<FieldError>,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub daemon: DaemonConfig,
    /// Every workspace, in config order; at least one (`[workspace]` is one named `default`).
    pub workspaces: Vec<WorkspaceConfig>,
    pub retry: RetryPolicy,
    pub jobs: JobsConfig,
    pub targets: TargetsConfig,
    /// `[workspace_tasks]`: how Workspace's scheduled tasks are followed.
    pub workspace_tasks: WorkspaceTasksConfig,
    /// `[history]`: retention.
    pub history: HistoryConfig,
    /// `[api]`: the console's API.
    pub api: ApiConfig,
    /// `[[task_warnings]]`: warnings before Workspace's scheduled tasks run.
    pub task_warnings: Vec<crate::domain::workspace_task::TaskWarningRule>,
    pub schedules: Vec<crate::domain::schedule::SharedSpec>,
    pub windows: Vec<WindowSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    pub database: crate::store::Database,
    /// Where `database` came from, for the start-up log: the file, or the environment.
    pub database_source: String,
    /// PostgreSQL: how long an instance's deliveries stay its own without a heartbeat.
    pub instance_lease: Duration,
    pub timezone: Tz,
    pub dry_run: bool,
    pub max_in_flight: usize,
    pub shutdown_grace: Duration,
    /// Where /metrics, /healthz and /readyz are served; None: nowhere.
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceConfig {
    pub name: WorkspaceName,
    /// Its config key, for errors found later: `workspace` or `workspaces[i]`.
    pub key: String,
    pub endpoint: Url,
    /// May also come from the SDK's variables or profile; see `workspace::credentials`.
    pub project_id: Option<ProjectId>,
    pub request_timeout: Duration,
    pub max_message_chars: Option<usize>,
    /// None: no limit.
    pub max_requests_per_second: Option<u32>,
    /// The longest shared pause after a throttling answer.
    pub throttle_pause_max: Duration,
    pub credentials: CredentialPaths,
}

impl Config {
    /// What schedules and windows may leave out, and the workspaces they may name.
    pub(crate) fn defaults(&self) -> Defaults {
        Defaults {
            timezone: self.daemon.timezone,
            workspaces: limits(&self.workspaces),
        }
    }

    /// True if the file declares a schedule or window with this id.
    pub fn declares(&self, id: &crate::domain::ScheduleId) -> bool {
        self.schedules.iter().any(|s| &s.id == id) || self.windows.iter().any(|w| &w.id == id)
    }
}

/// Each workspace's name and message limit, what schedules are checked against.
fn limits(workspaces: &[WorkspaceConfig]) -> Vec<(WorkspaceName, Option<usize>)> {
    workspaces
        .iter()
        .map(|w| (w.name.clone(), w.max_message_chars))
        .collect()
}

/// Reads `path` and the environment, and validates the result.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let load_error = |err: config::ConfigError| ConfigError::Load {
        path: path.to_owned(),
        message: err.to_string(),
    };
    let text = file::read_bounded(path).map_err(|message| ConfigError::Load {
        path: path.to_owned(),
        message,
    })?;
    // Types are checked strictly on the file as written (`dry_run = "yes"` and `message = 42`
    // are errors); the layered build below would quietly convert them.
    let strict_error = |message| ConfigError::Load {
        path: path.to_owned(),
        message,
    };
    let (mut file, entries) = strict::parse_settings(&text).map_err(strict_error)?;
    // Environment variables override the scalar sections. The schedule and window lists come
    // from the file alone and are not copied through the layered loader, whose value tree
    // costs kilobytes per entry (100,000 schedules would need hundreds of MB).
    let schedules = std::mem::take(&mut file.schedules);
    let workspaces = std::mem::take(&mut file.workspaces);
    let wrote_workspace = file.workspace.is_some();
    let single = file.workspace.take().unwrap_or_default();
    let file_database = file.daemon.database.clone();
    let windows = std::mem::take(&mut file.maintenance_windows);
    let task_warnings = std::mem::take(&mut file.task_warnings);
    let settings = raw::RawSettings {
        daemon: &file.daemon,
        workspace: &single,
        retry: &file.retry,
        jobs: &file.jobs,
        targets: &file.targets,
        workspace_tasks: &file.workspace_tasks,
        history: &file.history,
        api: &file.api,
    };
    let built = config::Config::builder()
        .add_source(config::Config::try_from(&settings).map_err(load_error)?)
        .add_source(
            config::Environment::with_prefix("WORKSPACE_NOTIFIER")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        )
        .build()
        .map_err(load_error)?;
    let mut raw: RawConfig = built.try_deserialize().map_err(load_error)?;
    raw.schedules = schedules;
    raw.maintenance_windows = windows;
    raw.task_warnings = task_warnings;
    // Environment variables reach `[workspace]` only: with `[[workspaces]]` and no
    // `[workspace]` in the file, the layered (default) section is not one the file wrote.
    if !wrote_workspace && !workspaces.is_empty() {
        raw.workspace = None;
    }
    raw.workspaces = workspaces;
    validate_parts(raw, entries.parts())
        .map_err(strict_error)?
        .map_err(|errors| ConfigError::Invalid {
            path: path.to_owned(),
            errors,
        })
        .map(|mut config| {
            config.daemon.database_source = database_source(path, &file_database);
            let dir = path.parent().map(|dir| match dir.as_os_str().is_empty() {
                true => Path::new(".").to_owned(),
                false => dir.to_owned(),
            });
            for workspace in &mut config.workspaces {
                workspace.credentials.service_dir = dir.clone();
            }
            config.path = path.to_owned();
            config
        })
}

/// Where `daemon.database` came from: the file (or its default), or the environment variable
/// that overrides it, saying so when the two differ.
fn database_source(path: &Path, in_file: &str) -> String {
    const VAR: &str = "WORKSPACE_NOTIFIER__DAEMON__DATABASE";
    match std::env::var(VAR) {
        Ok(value) if value != in_file => format!(
            "${VAR}, which overrides daemon.database = {:?} in {}",
            crate::store::redact_database(in_file),
            path.display()
        ),
        Ok(_) => format!("${VAR} (the same as daemon.database in {})", path.display()),
        Err(_) => format!("daemon.database in {} (or its default)", path.display()),
    }
}

/// Applies every rule to `raw` and to the schedules and windows read one part at a time from
/// `parts`; returns all failures, not just the first. A part that cannot be read ends the
/// validation with its error, `E`.
fn validate_parts<E>(
    raw: RawConfig,
    parts: impl Iterator<Item = Result<RawConfig, E>>,
) -> Result<Result<Config, Vec<FieldError>>, E> {
    let mut errors = Errors::default();
    let d = &raw.daemon;
    let timezone = errors.take("daemon.timezone", fields::timezone(&d.timezone));
    let max_in_flight = errors.take(
        "daemon.max_in_flight",
        fields::bounded(d.max_in_flight, 1..=1024),
    );
    let shutdown_grace = errors.take(
        "daemon.shutdown_grace",
        fields::bounded_duration(&d.shutdown_grace, fields::SHUTDOWN_GRACE),
    );
    let listen = match &d.listen {
        None => Some(None),
        Some(text) => errors
            .take(
                "daemon.listen",
                text.parse::<std::net::SocketAddr>().map_err(|_| {
                    format!("{text:?} is not host:port with an IP address, e.g. \"127.0.0.1:9464\"")
                }),
            )
            .map(Some),
    };
    let pool = errors.take(
        "daemon.database_pool_size",
        fields::bounded(d.database_pool_size, 1..=1000),
    );
    let database_timeout = errors.take(
        "daemon.database_timeout",
        fields::bounded_duration(&d.database_timeout, fields::DATABASE_TIMEOUT),
    );
    let instance_lease = errors.take(
        "daemon.instance_lease",
        fields::bounded_duration(&d.instance_lease, fields::INSTANCE_LEASE),
    );
    let database = match (pool, database_timeout) {
        (Some(size), Some(timeout)) => errors.take(
            "daemon.database",
            crate::store::Database::parse(
                &d.database,
                d.database_password_file.clone(),
                crate::store::PoolSettings {
                    max_connections: size as u32,
                    timeout,
                },
            ),
        ),
        _ => None,
    };
    let workspaces = validate_workspaces(raw.workspace.as_ref(), &raw.workspaces, &mut errors);
    let retry = policy_rules::validate_retry(&raw.retry, &mut errors);
    let jobs = policy_rules::validate_jobs(&raw.jobs, &mut errors);
    let targets = policy_rules::validate_targets(&raw.targets, &mut errors);
    let workspace_tasks = task_rules::validate_polling(&raw.workspace_tasks, &mut errors);
    let history = policy_rules::validate_history(&raw.history, &mut errors);
    let api = policy_rules::validate_api(&raw.api, listen.flatten(), &mut errors);
    // Schedules are checked against every workspace whose name is valid, even when another of
    // its keys is not: one bad key must not make every schedule's workspace "unknown".
    let named = match &workspaces {
        Some(valid) => limits(valid),
        None if raw.workspaces.is_empty() => vec![(WorkspaceName::default_name(), None)],
        None => raw
            .workspaces
            .iter()
            .filter_map(|w| WorkspaceName::parse(w.name.as_deref()?).ok())
            .map(|name| (name, None))
            .collect(),
    };
    let defaults = Defaults {
        timezone: timezone.unwrap_or(Tz::UTC),
        workspaces: named,
    };
    let mut schedules = ScheduleRules {
        defaults: &defaults,
        seen: HashSet::new(),
        specs: Vec::new(),
        count: 0,
    };
    let RawConfig {
        schedules: raw_schedules,
        maintenance_windows: mut raw_windows,
        task_warnings: raw_task_warnings,
        ..
    } = raw;
    for schedule in &raw_schedules {
        schedules.add(schedule, &mut errors);
    }
    drop(raw_schedules);
    for part in parts {
        let part = part?;
        for schedule in &part.schedules {
            schedules.add(schedule, &mut errors);
        }
        raw_windows.extend(part.maintenance_windows);
    }
    let windows = window_rules::validate_windows(&raw_windows, &defaults, &mut errors);
    let task_warnings = task_rules::validate_rules(&raw_task_warnings, &defaults, &mut errors);
    let ids = schedules
        .seen
        .iter()
        .chain(raw_windows.iter().map(|w| &w.id));
    task_rules::check_ids_unique(&raw_task_warnings, ids, &mut errors);
    for (i, window) in raw_windows.iter().enumerate() {
        if schedules.seen.contains(&window.id) {
            errors.push(
                format!("maintenance_windows[{i}].id"),
                format!(
                    "{:?} is also a schedule id; ids are unique across schedules and windows",
                    window.id
                ),
            );
        }
    }
    let mut schedules = schedules.specs;
    schedules.shrink_to_fit();
    if !errors.is_empty() {
        return Ok(Err(errors.into_vec()));
    }
    Ok(Ok(Config {
        path: PathBuf::new(),
        daemon: DaemonConfig {
            database: database.expect("checked"),
            database_source: "daemon.database in the config file".to_owned(),
            instance_lease: instance_lease.expect("checked"),
            timezone: timezone.expect("checked"),
            dry_run: d.dry_run,
            max_in_flight: max_in_flight.expect("checked") as usize,
            shutdown_grace: shutdown_grace.expect("checked"),
            listen: listen.expect("checked"),
        },
        workspaces: workspaces.expect("checked"),
        retry: retry.expect("checked"),
        jobs: jobs.expect("checked"),
        targets: targets.expect("checked"),
        workspace_tasks: workspace_tasks.expect("checked"),
        history: history.expect("checked"),
        api: api.expect("checked"),
        task_warnings,
        schedules,
        windows,
    }))
}

/// The `[[schedules]]` rules, applied one entry at a time (in file order: `schedules[i]`).
struct ScheduleRules<'a> {
    defaults: &'a Defaults,
    seen: HashSet<String>,
    specs: Vec<crate::domain::schedule::SharedSpec>,
    /// Entries seen so far: the index of the next.
    count: usize,
}

impl ScheduleRules<'_> {
    fn add(&mut self, schedule: &RawSchedule, errors: &mut Errors) {
        let i = self.count;
        self.count += 1;
        let prefix = format!("schedules[{i}]");
        if !self.seen.insert(schedule.id.clone()) {
            errors.push(
                format!("{prefix}.id"),
                format!("duplicate schedule id {:?}", schedule.id),
            );
        }
        let key = |name: &str| format!("{prefix}.{name}");
        if let Some(spec) = validate_schedule(schedule, &key, self.defaults, Source::File, errors) {
            self.specs.push(std::sync::Arc::new(spec));
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
