//! The long-running service: recover, load, fire, reload, stop. Signals are translated to
//! [`Control`] messages by the CLI, so tests drive the same code in-process. (About 450
//! lines: start, reload, the database-file watch, pauses ending and the takeover of lost
//! instances' deliveries share the service state; the takeover rules are in `membership`,
//! the task follower, switcher and pruner in their own files.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use crate::config::{self, Config, Defaults};
use crate::domain::schedule::SharedSpec;
use crate::engine::audiences::Audiences;
use crate::engine::catalog;
use crate::engine::health::Health;
use crate::engine::jobs::JobFollower;
use crate::engine::listener::{self, Listener};
use crate::engine::maintenance_mode::ModeSwitcher;
use crate::engine::membership;
use crate::engine::resend::ResendRunner;
use crate::engine::scheduler::{Scheduler, Update};
use crate::engine::shutdown::Shutdown;
use crate::engine::starter::Starter;
use crate::engine::wiring::{self, SetupError};
use crate::engine::workspace_tasks::{SharedRules, TaskFollower};
use crate::platform::clock::Clock;
use crate::platform::systemd;
use crate::store::{ChangeWatcher, Coordination, JoinError, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database file was deleted or replaced while the daemon ran: what it records would
    /// be lost, so it stops.
    #[error("{0}")]
    DatabaseReplaced(String),
    /// `daemon.listen` could not be bound (in use, not an address of this host).
    #[error("daemon.listen: cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// This process could not register as an instance.
    #[error(transparent)]
    Instance(#[from] JoinError),
}

/// How the outside world steers a running daemon.
pub struct Control {
    /// `stop` on SIGTERM; `abort` is fired by the daemon itself after `shutdown_grace`.
    pub shutdown: Shutdown,
    /// One message per SIGHUP: re-read the config file.
    pub reload: mpsc::Receiver<()>,
    /// More routes for the listener (the console's API), when `[api]` enables them.
    pub routes: Option<axum::Router>,
    /// The listener speaks HTTPS with this (from `[api] tls_cert_file`, `tls_key_file`).
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

/// Runs the daemon until `control.shutdown.stop`. Migrations, recovery and the first schedule
/// load happen before READY=1.
pub async fn serve(
    mut config: Config,
    clock: Clock,
    mut control: Control,
) -> Result<(), DaemonError> {
    let shutdown = control.shutdown.clone();
    let tracker = TaskTracker::new();
    let extra = (control.routes.take(), control.tls.take());
    let (mut service, scheduler) = start(&mut config, clock, (&tracker, &shutdown), extra).await?;
    let starter = scheduler.starter();
    let (updates_tx, updates_rx) = mpsc::channel(4);
    let loop_task = tokio::spawn(scheduler.run(updates_rx));
    let mut poll = tokio::time::interval(DATABASE_POLL);
    // Without a takeover interval (SQLite) this timer is never used.
    let takeover_every = service.membership.takeover_interval();
    let mut takeover = tokio::time::interval(takeover_every.unwrap_or(Duration::from_secs(3600)));
    takeover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    takeover.tick().await;
    let changes = service.watcher.notifications();
    let mut failure = None;
    loop {
        tokio::select! {
            () = shutdown.stop.cancelled() => break,
            Some(()) = control.reload.recv() => service.reload(&config, &updates_tx).await,
            () = changes.notified() => service.apply_database_changes(&updates_tx).await,
            _ = takeover.tick(), if takeover_every.is_some() => {
                service.take_over(clock, &starter).await;
            }
            _ = poll.tick() => {
                if let Err(err) = service.membership.check_database() {
                    tracing::error!("{err}");
                    shutdown.stop.cancel();
                    failure = Some(DaemonError::DatabaseReplaced(err));
                    break;
                }
                service.apply_database_changes(&updates_tx).await;
                if service.pause_end.is_some_and(|end| end <= clock.now()) {
                    tracing::info!("a pause ended; applying");
                    service.push_update(&updates_tx).await;
                }
            }
        }
    }
    service.watcher.close().await;
    systemd::stopping();
    tracing::info!(
        in_flight = tracker.len(),
        "stopping: no new fires; waiting for in-flight attempts"
    );
    let _ = loop_task.await;
    crate::engine::shutdown::drain(&tracker, &shutdown, config.daemon.shutdown_grace).await;
    service.membership.leave(&service.store).await;
    service.store.close().await;
    tracing::info!("stopped");
    failure.map_or(Ok(()), Err)
}

/// What the daemon keeps between start and stop, besides the scheduler.
struct Service {
    store: Store,
    membership: Coordination,
    watcher: ChangeWatcher,
    /// Each schedule's misfire grace, by id, for deliveries taken over.
    graces: HashMap<String, Duration>,
    /// This instance's own pending rows that no task carried at the last takeover look.
    idle_own: std::collections::HashSet<i64>,
    file_schedules: catalog::FileSchedules,
    /// The `[[task_warnings]]` rules the task follower applies (a reload replaces them).
    task_rules: SharedRules,
    /// When the next pause ends by itself: the set is reloaded then.
    pause_end: Option<chrono::DateTime<chrono::Utc>>,
    /// The windows the maintenance-mode switcher looks at.
    mode_windows: tokio::sync::watch::Sender<Vec<Arc<crate::domain::maintenance::WindowSpec>>>,
    /// The zone and workspaces database schedules are validated against.
    defaults: Defaults,
    /// `[daemon]`, `[workspace]`, `[retry]` as loaded at start: a reload that changes them
    /// says that they need a restart.
    settings: Settings,
}

/// The parts of the config a reload does not apply (no secrets: credentials are paths).
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    daemon: crate::config::DaemonConfig,
    workspaces: Vec<crate::config::WorkspaceConfig>,
    retry: crate::domain::retry::RetryPolicy,
    targets: crate::config::TargetsConfig,
    workspace_tasks: crate::config::WorkspaceTasksConfig,
    history: crate::config::HistoryConfig,
}

fn settings_of(config: &Config) -> Settings {
    Settings {
        daemon: config.daemon.clone(),
        workspaces: config.workspaces.clone(),
        retry: config.retry,
        targets: config.targets,
        workspace_tasks: config.workspace_tasks,
        history: config.history,
    }
}

/// Everything before READY=1: credentials, database and migrations, recovery of pending
/// rows, the first schedule load. The config's schedule and window lists move into the
/// service (one copy of 100,000 schedules, not two).
async fn start(
    config: &mut Config,
    clock: Clock,
    (tracker, shutdown): (&TaskTracker, &Shutdown),
    extra: (Option<axum::Router>, Option<Arc<rustls::ServerConfig>>),
) -> Result<(Service, Scheduler), DaemonError> {
    let routes = Arc::new(wiring::preflight(config, &wiring::process_env)?);
    // The daemon goes on without a row it cannot read (logged), rather than stop every schedule.
    let store = wiring::open_store(config).await?.skipping_unreadable();
    let membership = membership::join(config, &store, crate::store::Role::Daemon).await?;
    let store = membership.claiming(store);
    let deliverer = Arc::new(wiring::build_deliverer(
        config,
        store.clone(),
        Arc::clone(&routes),
        clock,
    ));
    let starter = Starter::new(Arc::clone(&deliverer), tracker.clone(), shutdown.clone());
    let health = Arc::new(Health::default());
    if let Some(addr) = config.daemon.listen {
        listener::prepare(&store).await;
        let answers = Listener {
            store: store.clone(),
            health: Arc::clone(&health),
            routes: Arc::clone(&routes),
            commands: tokio::sync::Mutex::new(super::command_counts::CommandCounts::new(
                clock.now(),
                membership.id(),
            )),
        };
        listener::serve(addr, (answers, extra), shutdown.stop.clone())
            .await
            .map_err(|source| DaemonError::Listen { addr, source })?;
    }
    // Jobs accepted before a stop are still followed: the follower starts with the daemon.
    if config.jobs.enabled && !routes.dry_run() {
        let follower = Arc::new(
            JobFollower::new(store.clone(), Arc::clone(&routes), config.jobs, clock).with_resends(
                ResendRunner {
                    store: store.clone(),
                    starter: starter.clone(),
                    desktop_batch: config.jobs.desktop_batch,
                },
            ),
        );
        tracker.spawn(follower.run(shutdown.stop.clone()));
    }
    let audiences = Arc::new(Audiences::new(
        Arc::clone(&routes),
        config.retry,
        clock,
        config.targets,
        (tracker.clone(), shutdown.stop.clone()),
    ));
    let mut scheduler = Scheduler::new(
        store.clone(),
        deliverer,
        clock,
        tracker.clone(),
        shutdown.clone(),
        audiences,
    )
    .with_starter(starter)
    .with_desktop_batch(config.jobs.desktop_batch)
    .with_health(Arc::clone(&health))
    .with_metrics(config.daemon.listen.is_some());
    let file_schedules = catalog::FileSchedules {
        schedules: std::mem::take(&mut config.schedules),
        windows: std::mem::take(&mut config.windows),
        task_rules: config.task_warnings.clone(),
    };
    // Always running (a reload may add the first rule); with no rule a poll reads nothing.
    let task_rules: SharedRules = Arc::new(std::sync::RwLock::new(config.task_warnings.clone()));
    let task_follower = TaskFollower {
        store: store.clone(),
        routes: Arc::clone(&routes),
        rules: Arc::clone(&task_rules),
        poll_interval: config.workspace_tasks.poll_interval,
        starter: scheduler.starter(),
        clock,
        limits: (config.retry.max_elapsed, config.jobs.desktop_batch),
    };
    let defaults = config.defaults();
    let current = catalog::current(&file_schedules, &defaults, &store).await?;
    let (specs, pause_end) = (current.specs, current.pause_end);
    let (mode_windows, windows_rx) = tokio::sync::watch::channel(current.modes);
    let mode_switcher = ModeSwitcher {
        store: store.clone(),
        routes: Arc::clone(&routes),
        starter: scheduler.starter(),
        clock,
        retry: config.retry,
        desktop_batch: config.jobs.desktop_batch,
        windows: windows_rx,
    };
    let graces = graces_of(&specs);
    let none_yet = |_| false;
    scheduler.start_deliveries(
        membership::take_over(&membership, &store, (&graces, &none_yet), clock).await?,
    );
    scheduler.apply(specs).await?;
    let mut watcher = store.change_watcher(&config.daemon.database).await?;
    watcher.schedules_changed().await?;
    // After the watcher's first look: what the first poll records is then a change it sees.
    tracker.spawn(task_follower.run(shutdown.stop.clone()));
    // After the takeover of pending rows: a switch-off is derived from finished switch-ons.
    tracker.spawn(mode_switcher.run(shutdown.stop.clone()));
    if let Some(keep) = config.history.keep {
        let pruning =
            crate::engine::retention::run(store.clone(), keep, clock, shutdown.stop.clone());
        tracker.spawn(pruning);
    }
    let status = scheduler.status_line();
    tracing::info!(database = %config.daemon.database, database_from = %config.daemon.database_source, instance = %membership.id(), dry_run = config.daemon.dry_run, "started: {status}");
    // Parsing the file and loading the schedules freed far more than it kept.
    crate::platform::memory::release_freed();
    health.set_ready();
    systemd::ready(&status);
    let service = Service {
        store,
        membership,
        watcher,
        graces,
        idle_own: Default::default(),
        file_schedules,
        task_rules,
        mode_windows,
        pause_end,
        defaults,
        settings: settings_of(config),
    };
    Ok((service, scheduler))
}

impl Service {
    /// SIGHUP: re-read the file and validate it exactly as `run` does at start (the file's
    /// rules, then credentials, project id and database directory); a file `run` would refuse
    /// is logged at error and the running schedules stay.
    async fn reload(&mut self, running: &Config, updates: &mpsc::Sender<Update>) {
        systemd::reloading();
        let path = &running.path;
        let running_count = self.file_schedules.schedules.len() + self.file_schedules.windows.len();
        let checked = config::load(path)
            .map_err(|e| e.to_string())
            .and_then(|new| {
                wiring::preflight(&new, &wiring::process_env)
                    .map(|_| new)
                    .map_err(|e| format!("{}: {e}", path.display()))
            })
            .and_then(|new| {
                // Each workspace's client is built at start: a schedule for a workspace added
                // by a reload would have nowhere to go.
                let names = |c: &Config| -> Vec<String> {
                    c.workspaces.iter().map(|w| w.name.to_string()).collect()
                };
                let (old, now) = (&self.settings.workspaces, names(&new));
                let running: Vec<String> = old.iter().map(|w| w.name.to_string()).collect();
                match running == now {
                    true => Ok(new),
                    false => Err(format!(
                        "{}: the workspaces changed (running: {}; the file: {}); adding, removing or renaming a workspace needs a restart",
                        path.display(),
                        running.join(", "),
                        now.join(", ")
                    )),
                }
            })
            .and_then(|new| {
                // A file cut short by accident parses fine and would stop every schedule.
                match running_count > 0 && new.schedules.is_empty() && new.windows.is_empty() {
                    true => Err(format!(
                        "{}: it would remove all {running_count} schedules and windows of the file; to run without them, restart the service",
                        path.display()
                    )),
                    false => Ok(new),
                }
            });
        match checked {
            Ok(new) => {
                if settings_of(&new) != self.settings {
                    tracing::warn!(
                        "[daemon], [workspace] or [[workspaces]], [retry], [targets], [workspace_tasks] and [history] changes take effect at the next restart; the reload applied schedules and windows only"
                    );
                }
                *self.task_rules.write().unwrap_or_else(|e| e.into_inner()) =
                    new.task_warnings.clone();
                self.file_schedules = catalog::FileSchedules {
                    schedules: new.schedules,
                    windows: new.windows,
                    task_rules: new.task_warnings,
                };
                tracing::info!("reloaded {}", path.display());
                crate::platform::metrics::config_loaded(true);
                self.push_update(updates).await;
                crate::platform::memory::release_freed();
                systemd::ready("reloaded");
            }
            Err(err) => {
                tracing::error!("reload refused, keeping the running schedules: {err}");
                crate::platform::metrics::config_loaded(false);
                systemd::ready("reload refused (see the log); running the previous schedules");
            }
        }
    }

    /// Hands the scheduler a new set and waits until it is applied (READY=1 comes after).
    async fn push_update(&mut self, updates: &mpsc::Sender<Update>) {
        let specs = match catalog::current(&self.file_schedules, &self.defaults, &self.store).await
        {
            Ok(current) => {
                self.mode_windows.send_replace(current.modes);
                self.pause_end = current.pause_end;
                current.specs
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot read database schedules; keeping the running set");
                return;
            }
        };
        self.graces = graces_of(&specs);
        let (done, applied) = oneshot::channel();
        if updates
            .send(Update {
                specs,
                applied: done,
            })
            .await
            .is_ok()
        {
            let _ = applied.await;
        }
    }

    /// PostgreSQL: resumes the deliveries of instances whose lease ran out. An error (the
    /// database unreachable) is logged; the next tick tries again.
    async fn take_over(&mut self, clock: Clock, starter: &Starter) {
        // An own pending row no task carries is resumed only when the previous look found it
        // so too: one claimed a moment ago may not have its task yet.
        let idle_now = std::sync::Mutex::new(std::collections::HashSet::new());
        let carrying = |id| {
            if starter.is_running(id) {
                return true;
            }
            idle_now.lock().expect("not poisoned").insert(id);
            !self.idle_own.contains(&id)
        };
        let found = membership::take_over(
            &self.membership,
            &self.store,
            (&self.graces, &carrying),
            clock,
        )
        .await;
        self.idle_own = idle_now.into_inner().expect("not poisoned");
        match found {
            Ok(resumable) if !resumable.is_empty() => {
                tracing::warn!(
                    deliveries = resumable.len(),
                    "took over pending deliveries of an instance whose lease ran out"
                );
                starter.start(resumable);
            }
            Ok(_) => {}
            Err(err) => {
                tracing::error!(error = %err, "cannot look for deliveries of lost instances; trying again at the next heartbeat")
            }
        }
    }

    /// `schedule`/`maintenance` commands changed the database: apply the new set.
    async fn apply_database_changes(&mut self, updates: &mpsc::Sender<Update>) {
        match self.watcher.schedules_changed().await {
            Ok(true) => {
                tracing::info!("database schedules changed; applying");
                self.push_update(updates).await;
            }
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cannot check the database for schedule changes")
            }
        }
    }
}

/// How often the database is asked whether `schedule add/pause/...` changed anything: one
/// `PRAGMA data_version`, so changes apply within 2 s at no measurable cost.
const DATABASE_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Each schedule's misfire grace, by id.
fn graces_of(specs: &[SharedSpec]) -> HashMap<String, Duration> {
    specs
        .iter()
        .map(|s| (s.record_as.to_string(), s.misfire_grace))
        .collect()
}
