//! Opening a store: the SQLite file (checked before connecting, created owned like its
//! directory, WAL and full sync) or the PostgreSQL pool, then the embedded migrations of its
//! engine.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::{Engine, Postgres, Store, StoreError, faults, location};
use crate::platform::ownership;

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
pub(super) fn missing_directory(path: &Path) -> Option<String> {
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
        let turn = MigrationTurn::take(path)
            .await
            .map_err(|err| open_error(sqlx::Error::Io(err)))?;
        let mut store = Self::migrated(pool, Engine::Sqlite, &shown).await?;
        drop(turn);
        store.file = Some(path.into());
        Ok(store)
    }

    /// Connects to PostgreSQL and applies its migrations.
    pub(super) async fn open_postgres(pg: &Postgres) -> Result<Self, StoreError> {
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
            file: None,
            skip_unreadable: false,
        };
        store.migrate(shown).await?;
        Ok(store)
    }

    /// Applies the embedded migrations of this engine. Two processes starting at once on a
    /// new SQLite file race to create the same tables; the loser's migration fails ("already
    /// exists", "locked") and is simply tried again, when it finds the winner's work recorded
    /// and has nothing left to do (PostgreSQL serializes migrations with an advisory lock). A
    /// database from a newer version of the program is refused at once.
    ///
    /// On SQLite each try runs on a connection of its own, closed after it: a
    /// table rebuild (a `no-transaction` migration with its own `BEGIN IMMEDIATE`) that fails
    /// half-way leaves its transaction open, and closing the connection is what rolls it
    /// back; back in the pool, it would fail every later `BEGIN` ("cannot start a transaction
    /// within a transaction").
    async fn migrate(&self, shown: &str) -> Result<(), StoreError> {
        use sqlx::migrate::MigrateError;
        let mut waits = [50u64, 100, 200, 400, 800, 1600].into_iter();
        loop {
            let result = match self.engine {
                Engine::Sqlite => {
                    let options = (*self.pool.connect_options()).clone();
                    let single = AnyPoolOptions::new()
                        .max_connections(1)
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                conn.execute("PRAGMA busy_timeout = 10000;").await?;
                                Ok(())
                            })
                        })
                        .connect_with(options)
                        .await?;
                    let result = sqlx::migrate!("./migrations/sqlite").run(&single).await;
                    single.close().await;
                    result
                }
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

/// Held while this process migrates a SQLite file. sqlx reads which migrations are applied
/// once per run, then applies the others one by one: a process that read the list while
/// another was half-way could run an early table rebuild again over a newer schema. So the
/// processes migrating one file take turns, each finding the others' work recorded: an
/// exclusive `flock` on `<database>.migrating` (next to it, the service's like the database),
/// released when dropped, or by the kernel if the process dies.
struct MigrationTurn(#[allow(dead_code)] std::fs::File);

impl MigrationTurn {
    async fn take(database: &Path) -> std::io::Result<MigrationTurn> {
        use std::os::fd::AsRawFd;
        let mut name = database.as_os_str().to_owned();
        name.push(".migrating");
        let path = std::path::PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        crate::platform::ownership::match_parent_owner(&path)?;
        // Another process's turn lasts as long as its migrations (a table rebuild of a large
        // history: seconds); waited for, bounded.
        for _ in 0..1200 {
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(MigrationTurn(file));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(std::io::Error::other(format!(
            "another process has been migrating this database for a minute ({} is locked)",
            path.display()
        )))
    }
}
