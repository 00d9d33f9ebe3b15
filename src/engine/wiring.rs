//! Turns a validated config into the running parts: the sender (credentials, project id,
//! client) and the deliverer. Shared by `send` and the daemon so both take the same path.

use crate::config::{Config, WorkspaceConfig};
use crate::domain::{ProjectId, WorkspaceName};
use crate::engine::delivery::Deliverer;
use crate::engine::routes::{Route, Routes, Sender};
use crate::platform::clock::Clock;
use crate::store::{Store, StoreError};
use crate::workspace::{ApiError, CredentialsError, WorkspaceClient, credentials};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// No usable credentials (a configuration problem: exit 78).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// No project id in the config, the SDK variables or the profile.
    #[error("{key}: not set{also}")]
    NoProjectId { key: String, also: &'static str },
    /// A project id from the environment or profile is malformed.
    #[error("{place}: invalid project id {value:?}: {reason}")]
    BadProjectId {
        place: &'static str,
        value: String,
        reason: String,
    },
    /// The database cannot be created where `daemon.database` points.
    #[error("daemon.database: {path}: {problem}")]
    Database { path: String, problem: String },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] ApiError),
}

/// Every workspace's route: a no-op sender in dry run (no credentials needed), else a signed
/// client of its own (credentials, project id, pacer), each with `max_in_flight` slots.
pub fn build_routes(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Routes, SetupError> {
    build_routes_of(config, None, env)
}

/// The route of workspace `only` alone (a one-off send needs no other's credentials).
pub fn build_route(
    config: &Config,
    only: &WorkspaceName,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Routes, SetupError> {
    build_routes_of(config, Some(only), env)
}

fn build_routes_of(
    config: &Config,
    only: Option<&WorkspaceName>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Routes, SetupError> {
    let routes = config
        .workspaces
        .iter()
        .filter(|w| only.is_none_or(|name| &w.name == name))
        .map(|workspace| {
            if config.daemon.dry_run {
                // Audiences are still listed when credentials are there: listing sends nothing.
                let lister = build_client(workspace, env)
                    .map(std::sync::Arc::new)
                    .map_err(|e| format!("dry run, and no client to list desktops with: {e}"));
                return Ok(Route::new(
                    workspace.name.clone(),
                    Sender::DryRun,
                    config.daemon.max_in_flight,
                )
                .listing_with(lister));
            }
            let client = build_client(workspace, env)?;
            Ok(Route::new(
                workspace.name.clone(),
                Sender::Api(std::sync::Arc::new(client)),
                config.daemon.max_in_flight,
            ))
        })
        .collect::<Result<Vec<_>, SetupError>>()?;
    Ok(Routes::new(routes, config.daemon.max_in_flight))
}

/// The signed client of `workspace`.
fn build_client(
    workspace: &WorkspaceConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<WorkspaceClient, SetupError> {
    let resolved = credentials::resolve(&workspace.credentials, env)?;
    for warning in &resolved.warnings {
        tracing::warn!(workspace = %workspace.name, "{warning}");
    }
    tracing::debug!(workspace = %workspace.name, source = %resolved.source, "credentials found");
    let project_id = match (&workspace.project_id, resolved.project_id) {
        (Some(id), _) => id.clone(),
        (None, Some(raw)) => ProjectId::parse(&raw).map_err(|e| SetupError::BadProjectId {
            place: "HUAWEICLOUD_SDK_PROJECT_ID or SDK profile project_id",
            value: raw.clone(),
            reason: e.to_string(),
        })?,
        (None, None) => {
            // The SDK's variables and profile are the default workspace's only.
            let also = match workspace.credentials.workspace {
                None => ", and neither HUAWEICLOUD_SDK_PROJECT_ID nor the SDK profile gives one",
                Some(_) => "",
            };
            return Err(SetupError::NoProjectId {
                key: format!("{}.project_id", workspace.key),
                also,
            });
        }
    };
    let client = WorkspaceClient::new(
        workspace.endpoint.clone(),
        project_id,
        resolved.credentials,
        workspace.request_timeout,
    )?
    .paced(std::sync::Arc::new(crate::workspace::Pacer::new(
        workspace.max_requests_per_second,
        workspace.throttle_pause_max,
    )));
    Ok(client)
}

/// Everything `run` checks before it starts, without sending or writing anything: the
/// database's directory, and (unless `dry_run`) credentials and project id. A reload runs
/// the same checks, so what `run` would refuse a reload refuses too; `check` runs them with
/// the directory as a warning (see [`database_directory_problem`]).
pub fn preflight(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Routes, SetupError> {
    if let Some(problem) = database_directory_problem(config) {
        return Err(SetupError::Database {
            path: config.daemon.database.to_string(),
            problem,
        });
    }
    build_routes(config, env)
}

/// Why `run` could not create the database where the config puts it, if it could not. On a
/// fresh package install the directory does not exist yet: the unit's `StateDirectory=`
/// creates it at the first start, so `check` reports this as a warning, not an error.
pub fn database_directory_problem(config: &Config) -> Option<String> {
    config.daemon.database.missing_directory()
}

/// Opens the database named by the config (creating and migrating it).
pub async fn open_store(config: &Config) -> Result<Store, StoreError> {
    Store::connect(&config.daemon.database).await
}

pub fn build_deliverer(
    config: &Config,
    store: Store,
    routes: std::sync::Arc<Routes>,
    clock: Clock,
) -> Deliverer {
    Deliverer::new(store, routes, config.retry, clock)
        .follow_jobs(config.jobs.enabled.then_some(config.jobs.first_poll))
        .reconcile_timeouts(config.jobs.enabled && config.jobs.reconcile_timeouts)
}

/// Reads the process environment; the production `env` for [`build_routes`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
