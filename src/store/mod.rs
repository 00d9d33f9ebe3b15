//! The store: a SQLite file or a PostgreSQL server. Every SQL statement of the program lives
//! under this module, behind functions named for what they do, and this module is the only
//! one that knows which engine it talks to (`coordination.rs` turns that into how instances
//! know of each other). It knows SQL, nothing about HTTP.

mod attempts;
mod audit;
mod cells;
mod coordination;
mod copy;
mod deliveries;
mod faults;
mod history;
mod instances;
mod jobs;
mod location;
mod mode_switches;
mod open;
mod pauses;
mod prune;
mod recipients;
mod rows;
mod state;
mod stored_schedules;
mod stored_windows;
mod time;
mod tokens;
mod transfer;
mod workspace_tasks;

use sqlx::AnyPool;
use std::path::Path;

pub(crate) use attempts::AttemptLog;
pub use audit::AuditEntry;
pub(crate) use coordination::{Coordination, JoinError, Role, RunningDaemon};
pub(crate) use copy::CopyError;
pub use copy::copied_columns;
pub(crate) use deliveries::AttemptRecord;
pub(crate) use deliveries::ResendPolicy;
pub use deliveries::{AudienceRecord, NewDelivery};
pub(crate) use history::{AttemptRow, HistoryFilter, LastOccurrence};
use instances::LeaseGuard;
pub(crate) use jobs::{JobEnd, JobToPoll, ResendSource};
pub(crate) use location::Postgres;
pub(crate) use location::redact as redact_database;
pub use location::{Database, PoolSettings};
pub(crate) use mode_switches::SwitchOn;
pub(crate) use pauses::{FREEZE, Pause};
pub use recipients::{PlannedRecipients, planned_recipients};
pub(crate) use rows::Claimed;
pub(crate) use rows::DeliveryRow;
pub(crate) use state::ScheduleState;
pub(crate) use stored_schedules::{ChangeWatcher, StoredSchedule};
pub(crate) use stored_windows::{StoredSelectors, StoredTargets, StoredWindow};
pub(crate) use time::format_time;
pub use tokens::ApiToken;
pub(crate) use workspace_tasks::{StoredTask, TaskPoll};

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
    /// SQLite: the database file (None on PostgreSQL).
    file: Option<std::sync::Arc<Path>>,
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

    /// This handle, claiming deliveries in the name of instance `owner`.
    pub(super) fn owned_by(mut self, owner: &str) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// This handle, knowing the owner's lease (PostgreSQL).
    pub(super) fn with_lease(mut self, lease: std::sync::Arc<LeaseGuard>) -> Self {
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
