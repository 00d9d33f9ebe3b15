//! The config file as written: plain serde structs with the built-in defaults. Durations, zones
//! and times stay strings here so that validation can name the key and the bad value.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawConfig {
    pub daemon: RawDaemon,
    /// The single workspace (named `default`); None when the file has no `[workspace]`.
    pub workspace: Option<RawWorkspace>,
    /// `[[workspaces]]`: several, each with a `name`.
    pub workspaces: Vec<RawWorkspace>,
    pub retry: RawRetry,
    pub jobs: RawJobs,
    pub targets: RawTargets,
    pub schedules: Vec<RawSchedule>,
    pub maintenance_windows: Vec<RawWindow>,
    pub workspace_tasks: RawWorkspaceTasks,
    pub task_warnings: Vec<RawTaskWarning>,
    pub history: RawHistory,
    pub api: RawApi,
}

/// `[api]`: the console's HTTP API on the `daemon.listen` listener.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawApi {
    /// Off by default.
    pub enabled: bool,
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    /// How long a console session lasts (default 12h).
    pub session_ttl: Option<String>,
}

/// `[history]`: how long deliveries are kept.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawHistory {
    /// Deliveries due longer ago than this are pruned daily; none: kept for ever.
    pub keep: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawDaemon {
    /// A SQLite file path, or a `postgres://` URL (without a password).
    pub database: String,
    /// PostgreSQL only: a file holding the password.
    pub database_password_file: Option<PathBuf>,
    /// PostgreSQL only: connections per instance at most.
    pub database_pool_size: i64,
    /// PostgreSQL only: longest wait for a connection.
    pub database_timeout: String,
    /// PostgreSQL only: how long an instance's deliveries stay its own without a heartbeat.
    pub instance_lease: String,
    pub timezone: String,
    pub dry_run: bool,
    pub max_in_flight: i64,
    pub shutdown_grace: String,
    /// `host:port` for /metrics, /healthz and /readyz; none by default.
    pub listen: Option<String>,
}

impl Default for RawDaemon {
    fn default() -> Self {
        Self {
            database: "/var/lib/workspace-notifier/state.db".to_owned(),
            database_password_file: None,
            database_pool_size: 8,
            database_timeout: "5s".to_owned(),
            instance_lease: "15s".to_owned(),
            timezone: "UTC".to_owned(),
            dry_run: false,
            max_in_flight: 16,
            shutdown_grace: "10s".to_owned(),
            listen: None,
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawWorkspace {
    /// `[[workspaces]]` only: `[a-z0-9-]{1,32}`, unique.
    pub name: Option<String>,
    pub region: String,
    pub endpoint: Option<String>,
    pub project_id: Option<String>,
    pub request_timeout: String,
    /// Longest message accepted, in characters; 0 means no limit (the API documents none).
    pub max_message_chars: i64,
    /// Requests per second to Workspace at most, all kinds together; 0 means no limit.
    pub max_requests_per_second: i64,
    /// The longest pause of every request after a throttling answer (the throttled request
    /// itself still waits its whole `Retry-After`, within `retry.max_delay`).
    pub throttle_pause_max: String,
    pub credentials: RawCredentials,
}

impl Default for RawWorkspace {
    fn default() -> Self {
        Self {
            name: None,
            region: "cn-north-4".to_owned(),
            endpoint: None,
            project_id: None,
            request_timeout: "15s".to_owned(),
            max_message_chars: 0,
            max_requests_per_second: 0,
            throttle_pause_max: "5s".to_owned(),
            credentials: RawCredentials::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawCredentials {
    pub access_key_file: Option<PathBuf>,
    pub secret_key_file: Option<PathBuf>,
    pub security_token_file: Option<PathBuf>,
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRetry {
    pub max_attempts: i64,
    pub initial_delay: String,
    pub max_delay: String,
    pub max_elapsed: String,
}

impl Default for RawRetry {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_delay: "2s".to_owned(),
            max_delay: "2m".to_owned(),
            max_elapsed: "30m".to_owned(),
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawJobs {
    pub enabled: bool,
    pub first_poll: String,
    pub poll_interval: String,
    pub give_up_after: String,
    pub desktop_batch: i64,
    pub reconcile_timeouts: bool,
}

impl Default for RawJobs {
    fn default() -> Self {
        Self {
            enabled: true,
            first_poll: "10s".to_owned(),
            poll_interval: "15s".to_owned(),
            give_up_after: "10m".to_owned(),
            desktop_batch: 100,
            reconcile_timeouts: true,
        }
    }
}

/// `[targets]`: resolving audiences (selectors) from ListDesktops.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawTargets {
    pub resolve_ahead: String,
    pub max_age: String,
    pub max_audience: i64,
}

impl Default for RawTargets {
    fn default() -> Self {
        Self {
            resolve_ahead: "2m".to_owned(),
            max_age: "10m".to_owned(),
            max_audience: 2000,
        }
    }
}

/// `[workspace_tasks]`: following Workspace's own scheduled tasks.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawWorkspaceTasks {
    pub poll_interval: String,
}

impl Default for RawWorkspaceTasks {
    fn default() -> Self {
        Self {
            poll_interval: "5m".to_owned(),
        }
    }
}

/// One `[[task_warnings]]` entry: warnings before the runs of Workspace's scheduled tasks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTaskWarning {
    #[serde(default)]
    pub id: String,
    pub workspace: Option<String>,
    pub task_types: Option<Vec<String>>,
    pub task_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify_before: Vec<String>,
    #[serde(default)]
    pub message: String,
    pub cancel_message: Option<String>,
    /// The zone `{start}` is shown in when the task's own zone is only an odd offset.
    pub timezone: Option<String>,
    pub audience: Option<String>,
    pub max_audience: Option<i64>,
    pub misfire_grace: Option<String>,
}

/// The selector keys schedules and windows share: desktops chosen by what they carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawSelectors<'a> {
    pub tags: &'a [String],
    pub enterprise_project: &'a Option<String>,
    pub users: &'a [String],
    pub all_desktops: Option<bool>,
    pub audience: &'a Option<String>,
    pub max_audience: Option<i64>,
}

/// One `[[schedules]]` entry, also what `schedule add` builds from its flags and what
/// `schedule export` writes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSchedule {
    #[serde(default)]
    pub id: String,
    /// The `[[workspaces]]` name; may be left out when there is one workspace.
    pub workspace: Option<String>,
    pub cron: Option<String>,
    pub at: Option<String>,
    pub every: Option<String>,
    pub start: Option<String>,
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<String>,
    /// Individual desktop ids, besides or instead of pools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub desktops: Vec<String>,
    /// `["dept=finance"]`: desktops carrying all of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub enterprise_project: Option<String>,
    /// Desktops assigned to these users (exact names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    pub all_desktops: Option<bool>,
    /// `all` (default) or `connected`.
    pub audience: Option<String>,
    pub max_audience: Option<i64>,
    #[serde(default)]
    pub message: String,
    pub misfire_grace: Option<String>,
    pub enabled: Option<bool>,
    /// `{ attempts = 2, after = "2m" }`: re-send to the desktops that did not get it.
    pub resend_failed: Option<RawResend>,
    /// `latest` (default), `all` or `none`: what is sent of occurrences that come due late.
    pub catch_up: Option<String>,
}

/// `resend_failed = { attempts = 2, after = "2m" }`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResend {
    pub attempts: i64,
    pub after: String,
}

/// One `[[maintenance_windows]]` entry, also what `maintenance add` builds from its flags and
/// what `schedule export` writes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    #[serde(default)]
    pub id: String,
    /// The `[[workspaces]]` name; may be left out when there is one workspace.
    pub workspace: Option<String>,
    pub start: Option<String>,
    pub cron: Option<String>,
    #[serde(default)]
    pub duration: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify_before: Vec<String>,
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub desktops: Vec<String>,
    /// `["dept=finance"]`: desktops carrying all of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub enterprise_project: Option<String>,
    /// Desktops assigned to these users (exact names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    pub all_desktops: Option<bool>,
    /// `all` (default) or `connected`.
    pub audience: Option<String>,
    pub max_audience: Option<i64>,
    #[serde(default)]
    pub message: String,
    pub start_message: Option<String>,
    pub end_message: Option<String>,
    pub misfire_grace: Option<String>,
    pub resend_failed: Option<RawResend>,
    /// Desktops into Workspace's maintenance mode from the start to the end.
    pub maintenance_mode: Option<bool>,
}

/// The scalar sections of a [`RawConfig`], the part environment variables may override; the
/// layered loader is given these and not the (possibly 100,000-entry) lists.
#[derive(Serialize)]
pub(super) struct RawSettings<'a> {
    pub daemon: &'a RawDaemon,
    pub workspace: &'a RawWorkspace,
    pub retry: &'a RawRetry,
    pub jobs: &'a RawJobs,
    pub targets: &'a RawTargets,
    pub workspace_tasks: &'a RawWorkspaceTasks,
    pub history: &'a RawHistory,
    pub api: &'a RawApi,
}

/// The selector keys as owned values, to put into an entry (a stored schedule's or window's).
#[derive(Debug, Clone, Default)]
pub(crate) struct SelectorValues {
    pub tags: Vec<String>,
    pub enterprise_project: Option<String>,
    pub users: Vec<String>,
    pub all_desktops: Option<bool>,
    pub audience: Option<String>,
    pub max_audience: Option<i64>,
}

macro_rules! selectors_of {
    ($t:ty) => {
        impl $t {
            /// The entry with these selector keys.
            pub(crate) fn with_selectors(self, v: SelectorValues) -> Self {
                Self {
                    tags: v.tags,
                    enterprise_project: v.enterprise_project,
                    users: v.users,
                    all_desktops: v.all_desktops,
                    audience: v.audience,
                    max_audience: v.max_audience,
                    ..self
                }
            }

            pub(crate) fn selectors(&self) -> RawSelectors<'_> {
                RawSelectors {
                    tags: &self.tags,
                    enterprise_project: &self.enterprise_project,
                    users: &self.users,
                    all_desktops: self.all_desktops,
                    audience: &self.audience,
                    max_audience: self.max_audience,
                }
            }
        }
    };
}
selectors_of!(RawSchedule);
selectors_of!(RawWindow);
