//! How the processes sharing a store know of each other: the one place that knows which
//! engine gives which guarantee. [`Store::join`] registers this process and returns its
//! [`Coordination`]; the takeover rules that use it are the engine's.
//!
//! - SQLite (one host): a lock file next to the database that the kernel releases when the
//!   process dies (`platform::instance`); an owner that holds it is alive. The database
//!   file itself is watched for being deleted or replaced.
//! - PostgreSQL (several hosts): a row in `instances` with a lease, renewed by a heartbeat
//!   every third of the lease (`instances.rs`). Deliveries of an owner whose lease ran out
//!   more than the grace ago are orphans.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Claimed, LeaseGuard, Store, StoreError};
use crate::platform::instance::{self, Instance};

#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The instance lock file next to the SQLite database could not be made.
    #[error("cannot register this instance next to the database: {0}")]
    File(#[from] std::io::Error),
    /// The instance row could not be written.
    #[error("cannot register this instance in the database: {0}")]
    Lease(#[from] StoreError),
    /// The SQLite file went away between opening and registering.
    #[error("{0}")]
    Replaced(String),
}

/// What a registered process is: the service, or a command that sends (`send`, a notice);
/// `status` tells the service's instances from the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Daemon,
    Command,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Daemon => "daemon",
            Role::Command => "command",
        }
    }
}

/// A running instance of the service, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningDaemon {
    pub host: String,
    pub pid: i64,
    /// When it registered (None where the lock file does not say).
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// This process's registration; leave it with [`Coordination::leave`] (dropping it stops the
/// heartbeat, and the lease then runs out on its own).
#[derive(Debug)]
pub struct Coordination(Kind);

#[derive(Debug)]
enum Kind {
    LockFile {
        instance: Instance,
        file: DatabaseFile,
    },
    Lease {
        id: String,
        guard: Arc<LeaseGuard>,
        /// How long after the owner's lease ends its deliveries may be taken over.
        grace: Duration,
        heartbeat: CancellationToken,
    },
}

impl Store {
    /// Registers this process as an instance sharing this store. `lease`: the PostgreSQL
    /// lease (`daemon.instance_lease`); `grace`: how long after a lease ends its owner's
    /// deliveries may be taken over (longer than one request, so none is still in flight).
    pub async fn join(
        &self,
        lease: Duration,
        grace: Duration,
        role: Role,
    ) -> Result<Coordination, JoinError> {
        if let Some(path) = self.file.as_deref() {
            return Ok(Coordination(Kind::LockFile {
                instance: Instance::register(path, role.as_str())?,
                file: DatabaseFile::open(path)?,
            }));
        }
        let id = instance::new_id(role.as_str());
        let host = instance::host_name();
        let guard = LeaseGuard::new(lease);
        let sent = std::time::Instant::now();
        self.renew_lease(&id, (&host, role), lease).await?;
        guard.renewed(sent);
        let heartbeat = CancellationToken::new();
        tokio::spawn(beat(
            self.clone(),
            (id.clone(), host, role),
            Arc::clone(&guard),
            heartbeat.clone(),
        ));
        Ok(Coordination(Kind::Lease {
            id,
            guard,
            grace,
            heartbeat,
        }))
    }
}

impl Store {
    /// The service's instances running on this store: on SQLite those holding their lock
    /// file (this host), on PostgreSQL those whose lease has not run out.
    pub async fn running_daemons(&self) -> Result<Vec<RunningDaemon>, StoreError> {
        match self.file.as_deref() {
            Some(path) => Ok(Instance::running(path, Role::Daemon.as_str())
                .into_iter()
                .map(|(pid, started_at)| RunningDaemon {
                    host: instance::host_name(),
                    pid,
                    started_at,
                })
                .collect()),
            None => self.leased_daemons().await,
        }
    }

    /// Whether the instance `me` is the one of the service's instances that speaks for all
    /// (the longest running live one on PostgreSQL; on SQLite there is one).
    pub async fn speaks_for_all(&self, me: &str) -> Result<bool, StoreError> {
        match self.file {
            Some(_) => Ok(true),
            None => Ok(self.first_daemon().await?.is_none_or(|first| first == me)),
        }
    }
}

impl Coordination {
    /// `store`, claiming in this instance's name (and knowing its lease).
    pub fn claiming(&self, store: Store) -> Store {
        match &self.0 {
            Kind::LockFile { instance, .. } => store.owned_by(instance.id()),
            Kind::Lease { id, guard, .. } => store.owned_by(id).with_lease(Arc::clone(guard)),
        }
    }

    pub fn id(&self) -> &str {
        match &self.0 {
            Kind::LockFile { instance, .. } => instance.id(),
            Kind::Lease { id, .. } => id,
        }
    }

    /// How often orphaned deliveries are looked for while running; None: only at start
    /// (on one host, an owner that dies is found by the next start of the service).
    pub fn takeover_interval(&self) -> Option<Duration> {
        match &self.0 {
            Kind::LockFile { .. } => None,
            Kind::Lease { guard, .. } => Some(guard.lease() / 3),
        }
    }

    /// Pending deliveries whose owner is gone (or that this process owns but no longer
    /// carries: `carrying` says which it still does).
    pub async fn orphans(
        &self,
        store: &Store,
        carrying: &(dyn Fn(i64) -> bool + Sync),
    ) -> Result<Vec<Claimed>, StoreError> {
        match &self.0 {
            Kind::LockFile { file, .. } => Ok(store
                .pending_deliveries()
                .await?
                .into_iter()
                .filter(|d| {
                    !d.owner
                        .as_deref()
                        .is_some_and(|id| Instance::is_alive(&file.path, id))
                })
                .collect()),
            Kind::Lease { id, grace, .. } => Ok(store
                .orphaned_deliveries(*grace)
                .await?
                .into_iter()
                .filter(|d| d.owner.as_deref() != Some(id.as_str()) || !carrying(d.id))
                .collect()),
        }
    }

    /// Fails once the SQLite file is gone or is another file than the one opened (nothing
    /// written after that would be seen by anyone); always fine on PostgreSQL.
    pub fn check_database(&self) -> Result<(), String> {
        match &self.0 {
            Kind::LockFile { file, .. } => file.check(),
            Kind::Lease { .. } => Ok(()),
        }
    }

    /// A clean stop: the heartbeat ends and the lease row goes, so what this instance leaves
    /// pending is taken over at once rather than after its lease.
    pub async fn leave(self, store: &Store) {
        if let Kind::Lease { id, heartbeat, .. } = &self.0 {
            heartbeat.cancel();
            if let Err(err) = store.release_lease(id).await {
                tracing::warn!(error = %err, "cannot remove this instance's lease row; it runs out on its own");
            }
        }
    }
}

impl Drop for Coordination {
    fn drop(&mut self) {
        if let Kind::Lease { heartbeat, .. } = &self.0 {
            heartbeat.cancel();
        }
    }
}

/// Renews the lease every third of its length until `stop`.
async fn beat(
    store: Store,
    (id, host, role): (String, String, Role),
    guard: Arc<LeaseGuard>,
    stop: CancellationToken,
) {
    let lease = guard.lease();
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let sent = std::time::Instant::now();
        match store.renew_lease(&id, (&host, role), lease).await {
            Ok(true) => guard.renewed(sent),
            Ok(false) => {
                guard.lapsed();
                tracing::error!(
                instance = %id,
                "this instance's lease had run out (paused, or cut off from the database); other instances may have taken over its deliveries, which it no longer sends"
                );
            }
            Err(err) => tracing::error!(
                instance = %id,
                error = %err,
                "cannot renew this instance's lease; nothing is sent while the database cannot be reached"
            ),
        }
    }
}

/// The SQLite file's identity (device and inode) when it was opened.
#[derive(Debug)]
struct DatabaseFile {
    path: PathBuf,
    identity: (u64, u64),
}

impl DatabaseFile {
    fn identity(path: &Path) -> std::io::Result<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)?;
        Ok((meta.dev(), meta.ino()))
    }

    fn open(path: &Path) -> Result<Self, JoinError> {
        let identity = Self::identity(path).map_err(|_| {
            JoinError::Replaced(replaced(path, "vanished right after it was opened"))
        })?;
        Ok(Self {
            path: path.to_owned(),
            identity,
        })
    }

    fn check(&self) -> Result<(), String> {
        let what = match Self::identity(&self.path) {
            Ok(identity) if identity == self.identity => return Ok(()),
            Ok(_) => "was deleted or replaced by another file",
            Err(_) => "was deleted",
        };
        Err(replaced(&self.path, what))
    }
}

fn replaced(path: &Path, what: &str) -> String {
    format!(
        "database {} {what} while the daemon was running; stopping so that nothing more is recorded into a file that is gone (restore it, or restart to start a new one)",
        path.display()
    )
}
