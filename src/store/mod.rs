//! The SQLite store. Every SQL statement of the program lives under this module, behind
//! functions named for what they do, so a PostgreSQL store is one more module, not a rewrite.
//! It knows SQL, nothing about HTTP.

mod attempts;
mod deliveries;
mod history;
mod schedules;
mod state;
mod time;
mod windows;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

pub use attempts::AttemptLog;
pub use deliveries::{AttemptRecord, Claimed, DeliveryRow, NewDelivery, Status};
pub use history::{HistoryFilter, HistoryRow};
pub use schedules::{ChangeWatcher, StoredSchedule};
pub use state::ScheduleState;
pub use time::{format_time, parse_time};
pub use windows::StoredWindow;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    /// Applying the embedded migrations failed.
    #[error("cannot migrate database {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A group commit failed; every attempt in it gets this error.
    #[error("database error: {0}")]
    Batch(String),
    /// A stored value is not what this program writes (edited by hand?).
    #[error("database holds an unreadable value in {column}: {value:?}")]
    Corrupt { column: &'static str, value: String },
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// The instance id recorded as `claimed_by` on the deliveries this handle claims.
    owner: Option<std::sync::Arc<str>>,
}

impl Store {
    /// Opens (creating if missing) and migrates the database.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: shown.clone(),
                source: sqlx::Error::Io(e),
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // WAL: readers (`history`, the CLI) never block the daemon's writes.
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed claim or attempt must survive power loss, because it is what
            // decides "do not send this again". NORMAL in WAL mode may lose the last commits.
            .synchronous(SqliteSynchronous::Full)
            // Two daemons or a CLI may write at once; wait for the lock rather than fail.
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: shown.clone(),
                source,
            })?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: shown,
                source,
            })?;
        Ok(Self { pool, owner: None })
    }

    /// This handle, claiming deliveries in the name of instance `owner`.
    pub fn owned_by(mut self, owner: &str) -> Self {
        self.owner = Some(owner.into());
        self
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
