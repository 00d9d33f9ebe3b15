//! The SQLite store. Every SQL statement of the program lives under this module, behind
//! functions named for what they do, so a PostgreSQL store is one more module, not a rewrite.
//! It knows SQL, nothing about HTTP.

mod attempts;
mod cells;
mod copy;
mod deliveries;
mod faults;
mod history;
mod instances;
mod jobs;
mod location;
mod rows;
mod state;
mod stored_schedules;
mod stored_windows;
mod time;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::platform::ownership;

pub(crate) use attempts::AttemptLog;
pub use copy::{CopyError, copied_columns};
pub(crate) use deliveries::AttemptRecord;
pub use deliveries::{NewDelivery, ResendPolicy};
pub(crate) use history::{AttemptRow, HistoryFilter, LastOccurrence};
pub use instances::LeaseGuard;
pub use jobs::{JobEnd, JobToPoll, ResendSource};
pub(crate) use location::redact as redact_database;
pub use location::{Database, PoolSettings, Postgres};
pub(crate) use rows::Claimed;
pub(crate) use rows::DeliveryRow;
pub(crate) use state::ScheduleState;
pub(crate) use stored_schedules::{ChangeWatcher, StoredSchedule};
pub(crate) use stored_windows::{StoredTargets, StoredWindow};
pub(crate) use time::format_time;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created, or the server not reached.
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    /// The PostgreSQL password could not be read.
    #[error("cannot open database {path}: {problem}")]
    Password { path: String, problem: String },
    /// Applying the embedded migrations failed (or the database is from a newer version).
    #[error("cannot migrate database {path}: {source}{}", newer_hint(.source))]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A group commit failed; every attempt in it gets this error.
    #[error("cannot record attempts: {0}")]
    Batch(#[source] std::sync::Arc<StoreError>),
    /// The task that records attempts has stopped (the process is shutting down).
    #[error("the attempt writer has stopped")]
    WriterStopped,
    /// A stored value is not what this program writes (edited by hand?).
    #[error(
        "database holds an unreadable value in {table}.{column} of the row with {row}: {problem} (edited by hand? fix or delete that row)"
    )]
    Corrupt {
        table: &'static str,
        column: &'static str,
        row: String,
        problem: String,
    },
}

fn newer_hint(err: &sqlx::migrate::MigrateError) -> &'static str {
    match err {
        sqlx::migrate::MigrateError::VersionMissing(_) => {
            " (the database was migrated by a newer version of workspace-notifier; run that version, or point daemon.database at another file)"
        }
        _ => "",
    }
}

/// Which engine a [`Store`] talks to; the SQL is shared, a few statements are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    /// The instance id recorded as `claimed_by` on the deliveries this handle claims.
    owner: Option<std::sync::Arc<str>>,
    /// PostgreSQL: what this instance knows of its lease.
    lease: Option<std::sync::Arc<LeaseGuard>>,
    /// The daemon's handle: lists leave out rows they cannot read (see `cells`).
    skip_unreadable: bool,
}

impl Store {
    /// Opens and migrates the database `daemon.database` names.
    pub async fn connect(database: &Database) -> Result<Self, StoreError> {
        match database {
            Database::Sqlite(path) => Self::open(path).await,
            Database::Postgres(pg) => Self::open_postgres(pg).await,
        }
    }

    /// Opens (creating the file if missing, never its directory) and migrates a SQLite file.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let shown = path.display().to_string();
        let open_error = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        if let Some(problem) = missing_directory(path) {
            return Err(open_error(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                problem,
            ))));
        }
        if let Some(problem) = not_sqlite(path) {
            return Err(open_error(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                problem,
            ))));
        }
        create_as_directory_owner(path).map_err(|e| open_error(sqlx::Error::Io(e)))?;
        let options = AnyConnectOptions::from_str(&location::sqlite_url(path))?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL: readers (`history`, the CLI) never block the daemon's writes.
                    // FULL: a committed claim or attempt must survive power loss, because it
                    // is what decides "do not send this again"; NORMAL in WAL mode may lose
                    // the last commits. The busy timeout: two daemons or a CLI may write at
                    // once; wait for the lock rather than fail.
                    conn.execute(
                        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                         PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                    )
                    .await?;
                    Ok(())
                })
            })
            // A transaction whose COMMIT or ROLLBACK failed (a full disk) can leave its
            // connection inside a transaction; reusing it would fail every later BEGIN
            // ("non-zero transaction depth") until a restart. Such a connection is closed and
            // the pool opens a fresh one, so claims resume once the disk has room.
            .before_acquire(|conn, _| {
                Box::pin(async move {
                    if sqlx::Connection::is_in_transaction(conn) {
                        return Ok(false);
                    }
                    faults::limit_pages(conn).await;
                    Ok(true)
                })
            });
        // Another process creating or migrating the same new file holds its lock for a moment
        // (switching to WAL, rebuilding a table): a locked open is tried again, briefly.
        let mut waits = [100u64, 250, 500, 1000, 2000].into_iter();
        let pool = loop {
            match pool_options.clone().connect_with(options.clone()).await {
                Ok(pool) => break pool,
                Err(err) if is_locked(&err) => match waits.next() {
                    Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                    None => return Err(open_error(err)),
                },
                Err(err) => return Err(open_error(err)),
            }
        };
        Self::migrated(pool, Engine::Sqlite, &shown).await
    }

    /// Connects to PostgreSQL and applies its migrations.
    async fn open_postgres(pg: &Postgres) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let shown = pg.url.to_string();
        if let Some(warning) = pg
            .password_source()
            .and_then(|file| crate::platform::secret_file::loose_permissions(&file))
        {
            tracing::warn!("{warning}");
        }
        let url = pg.connect_url().map_err(|problem| StoreError::Password {
            path: shown.clone(),
            problem,
        })?;
        let options = AnyConnectOptions::from_str(secrecy::ExposeSecret::expose_secret(&url))
            .map_err(|source| StoreError::Open {
                path: shown.clone(),
                source,
            })?;
        let pool = AnyPoolOptions::new()
            .max_connections(pg.pool.max_connections)
            .acquire_timeout(pg.pool.timeout)
            // A connection is checked before use, so one broken by a server restart or a
            // failover is replaced instead of failing the statement it was given.
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: shown.clone(),
                source,
            })?;
        Self::migrated(pool, Engine::Postgres, &shown).await
    }

    /// A handle on `pool` once its migrations are applied.
    async fn migrated(pool: AnyPool, engine: Engine, shown: &str) -> Result<Self, StoreError> {
        let store = Self {
            pool,
            engine,
            owner: None,
            lease: None,
            skip_unreadable: false,
        };
        store.migrate(shown).await?;
        Ok(store)
    }

    /// This handle, claiming deliveries in the name of instance `owner`.
    pub fn owned_by(mut self, owner: &str) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// This handle, knowing the owner's lease (PostgreSQL).
    pub fn with_lease(mut self, lease: std::sync::Arc<LeaseGuard>) -> Self {
        self.lease = Some(lease);
        self
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction: SQLite takes its write lock at once (BEGIN IMMEDIATE), so two
    /// writers queue instead of failing half-way; PostgreSQL locks rows as they are touched.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.pool.begin().await?,
        })
    }
}

impl Engine {
    /// Parameter `n` in generated multi-row statements, whose values are bound in order:
    /// `$n` for PostgreSQL, a plain `?` for SQLite. SQLite reads `$n` and `?n` too, but keeps
    /// them in a list it searches one by one, for each name and again when sqlx binds each
    /// value: over the 7,500 parameters of a claim that made a 10,000-row burst a second late.
    pub(super) fn placeholder(self, n: usize) -> String {
        match self {
            Engine::Sqlite => "?".to_owned(),
            Engine::Postgres => format!("${n}"),
        }
    }
}

/// `($1, $2), ($3, $4)`: `rows` groups of `columns` numbered placeholders, for one multi-row
/// statement.
pub(super) fn value_rows(engine: Engine, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 6);
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ", (" });
        out.push_str(&numbered(engine, row * columns + 1, columns));
        out.push(')');
    }
    out
}

/// `$first, ..., $(first + count - 1)`.
pub(super) fn numbered(engine: Engine, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| engine.placeholder(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates a missing database file as an empty file (SQLite treats it as a new database)
/// owned like its directory, so a writing command run as root next to the service leaves a
/// file the service can write; SQLite gives its `-wal` and `-shm` files the same owner.
fn create_as_directory_owner(path: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => ownership::match_parent_owner(path),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock.
fn is_locked(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "5" || code == "6")
}

/// Why the database file cannot be created where it is configured, if it cannot: its
/// directory is missing or is not a directory. Parent directories are never created.
pub fn missing_directory(path: &Path) -> Option<String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => None,
        Ok(_) => Some(format!("{} is not a directory", dir.display())),
        Err(_) => Some(format!(
            "directory {} does not exist (it is not created; make it, or point daemon.database elsewhere)",
            dir.display()
        )),
    }
}

/// Why an existing file cannot be the SQLite database: it is not a regular file, or it does
/// not start with SQLite's header. Checked before connecting, because SQLite's own "file is
/// not a database" surfaces only as the pool's timeout, 30 s later.
fn not_sqlite(path: &Path) -> Option<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return Some("not a regular file".to_owned());
    }
    if meta.len() == 0 {
        return None; // a new file, created just now or by `touch`
    }
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
    match read {
        Ok(()) if &header == b"SQLite format 3\0" => None,
        Ok(()) | Err(_) => Some("file is not a database (it has no SQLite header)".to_owned()),
    }
}

impl Store {
    /// Applies the embedded migrations of this engine. Two processes starting at once on a
    /// new SQLite file race to create the same tables; the loser's migration fails ("already
    /// exists", "locked") and is simply tried again, when it finds the winner's work recorded
    /// and has nothing left to do (PostgreSQL serializes migrations with an advisory lock). A
    /// database from a newer version of the program is refused at once.
    async fn migrate(&self, shown: &str) -> Result<(), StoreError> {
        use sqlx::migrate::MigrateError;
        let mut waits = [50u64, 100, 200, 400, 800, 1600].into_iter();
        loop {
            let result = match self.engine {
                Engine::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await,
                Engine::Postgres => {
                    sqlx::migrate!("./migrations/postgres")
                        .run(&self.pool)
                        .await
                }
            };
            let err = match result {
                Ok(()) => return Ok(()),
                Err(err) => err,
            };
            let final_error = matches!(
                err,
                MigrateError::VersionMissing(_) | MigrateError::VersionMismatch(_)
            );
            match waits.next() {
                Some(ms) if !final_error => {
                    tracing::debug!(error = %err, retry_in_ms = ms, "migration failed; another process may be migrating");
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                _ => {
                    return Err(StoreError::Migrate {
                        path: shown.to_owned(),
                        source: err,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction that SQLite ended on its own (as it does after a full disk during a
    /// commit) leaves sqlx's bookkeeping inside a transaction: its ROLLBACK fails and the
    /// connection goes back to the pool. Every later BEGIN on it used to fail with "non-zero
    /// transaction depth" until a restart; the pool must discard it instead.
    #[tokio::test]
    async fn a_connection_left_inside_a_failed_transaction_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        for _ in 0..4 {
            let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
            drop(tx);
        }
        for i in 0..8 {
            let result = store.pool.begin_with("BEGIN IMMEDIATE").await;
            assert!(result.is_ok(), "transaction {i}: {:?}", result.err());
        }
    }
}
