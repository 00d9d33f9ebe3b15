//! Schedules managed with `schedule add` and friends, and the change counter the daemon
//! watches to pick them up.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection};

use super::cells::Cells;
use super::time::stored_time;
use super::{Database, Engine, Store, StoreError};
use std::sync::Arc;

/// A schedule as stored: the same fields as a `[[schedules]]` entry, validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    pub id: String,
    pub cron: Option<String>,
    pub at: Option<String>,
    pub every: Option<String>,
    pub start: Option<String>,
    pub timezone: Option<String>,
    pub pools: Vec<String>,
    pub message: String,
    pub misfire_grace: Option<String>,
    pub paused: bool,
    pub catch_up: Option<String>,
    pub extra: super::stored_windows::StoredTargets,
}

impl Store {
    /// Adds a schedule; false if the id is taken (by a schedule or a window).
    pub async fn insert_schedule(
        &self,
        s: &StoredSchedule,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = insert_schedule_in(&mut tx, s, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn list_schedules(&self) -> Result<Vec<StoredSchedule>, StoreError> {
        let rows = sqlx::query("SELECT * FROM schedules ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        self.readable(rows.iter().map(stored_from_row))
    }

    /// Pauses or resumes; false if there is no such schedule.
    pub async fn set_schedule_paused(
        &self,
        id: &str,
        paused: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE schedules SET paused = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(paused))
            .bind(stored_time(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the schedule (its deliveries stay as history); false if there was none.
    pub async fn delete_schedule(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM schedules WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Watches for changes to schedules, windows and cancellations made by other processes
    /// (`database`: where to listen for PostgreSQL's notifications).
    pub async fn change_watcher(&self, database: &Database) -> Result<ChangeWatcher, StoreError> {
        let notify = Arc::new(tokio::sync::Notify::new());
        let listener = match database {
            Database::Postgres(pg) => Some(tokio::spawn(listen(pg.clone(), Arc::clone(&notify)))),
            Database::Sqlite(_) => None,
        };
        let source = match self.engine {
            // `PRAGMA data_version` is per connection: the watcher keeps its own.
            Engine::Sqlite => Source::DataVersion {
                conn: tokio::sync::Mutex::new(self.pool.acquire().await?.detach()),
                data_version: None,
            },
            Engine::Postgres => Source::Counter(self.pool.clone()),
        };
        Ok(ChangeWatcher {
            source,
            counter: None,
            notify,
            listener,
        })
    }
}

/// The channel the PostgreSQL migration's trigger notifies on every change.
const CHANNEL: &str = "workspace_notifier_changes";

/// Listens on [`CHANNEL`] and wakes `notify` for each notification. A dropped connection is
/// made again (after a pause, while the server is away); what was announced meanwhile is
/// found by the watcher's next look at the counter.
async fn listen(pg: super::Postgres, notify: Arc<tokio::sync::Notify>) {
    loop {
        let result = async {
            let url = pg
                .connect_url()
                .map_err(|problem| sqlx::Error::Configuration(problem.into()))?;
            let mut listener =
                sqlx::postgres::PgListener::connect(secrecy::ExposeSecret::expose_secret(&url))
                    .await?;
            listener.listen(CHANNEL).await?;
            loop {
                listener.recv().await?;
                notify.notify_one();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "not listening for database changes; they are still picked up within a second by polling");
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Tells whether schedules, windows or cancellations changed since the last look, cheaply.
/// SQLite: one pragma, and the counter row read only when some other connection committed
/// something. PostgreSQL: the counter row (a primary-key read); the daemon also listens on
/// the channel the same trigger notifies, so it need not wait for its next look.
pub struct ChangeWatcher {
    source: Source,
    counter: Option<i64>,
    /// Woken by PostgreSQL's notifications; never on SQLite.
    notify: Arc<tokio::sync::Notify>,
    listener: Option<tokio::task::JoinHandle<()>>,
}

enum Source {
    DataVersion {
        /// A mutex only to make the watcher `Sync`; one task uses it.
        conn: tokio::sync::Mutex<AnyConnection>,
        data_version: Option<i64>,
    },
    Counter(sqlx::AnyPool),
}

impl ChangeWatcher {
    pub async fn schedules_changed(&mut self) -> Result<bool, StoreError> {
        const COUNTER: &str = "SELECT value FROM change_counters WHERE name = 'schedules'";
        let counter: i64 = match &mut self.source {
            Source::DataVersion { conn, data_version } => {
                let conn = conn.get_mut();
                let version: i64 = sqlx::query_scalar("PRAGMA data_version")
                    .fetch_one(&mut *conn)
                    .await?;
                if *data_version == Some(version) {
                    return Ok(false);
                }
                *data_version = Some(version);
                sqlx::query_scalar(COUNTER).fetch_one(&mut *conn).await?
            }
            Source::Counter(pool) => sqlx::query_scalar(COUNTER).fetch_one(&*pool).await?,
        };
        let changed = self.counter.is_some_and(|c| c != counter);
        self.counter = Some(counter);
        Ok(changed)
    }

    /// Woken when another instance or a command announces a change (PostgreSQL).
    pub fn notifications(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.notify)
    }

    pub async fn close(self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
        if let Source::DataVersion { conn, .. } = self.source {
            let _ = conn.into_inner().close().await;
        }
    }
}

fn stored_from_row(row: &AnyRow) -> Result<StoredSchedule, StoreError> {
    let c = Cells::new("schedules", row);
    Ok(StoredSchedule {
        id: c.get("id")?,
        cron: c.get("cron")?,
        at: c.get("at")?,
        every: c.get("every")?,
        start: c.get("start_at")?,
        timezone: c.get("timezone")?,
        pools: c.list("pools")?,
        message: c.get("message")?,
        misfire_grace: c.get("misfire_grace")?,
        paused: c.get::<i64>("paused")? != 0,
        catch_up: c.get("catch_up")?,
        extra: super::stored_windows::StoredTargets::from_row(&c)?,
    })
}

/// [`Store::insert_schedule`] inside `tx` (also `schedule import`'s).
pub(super) async fn insert_schedule_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    s: &StoredSchedule,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let pools = serde_json::to_string(&s.pools).expect("strings serialize");
    let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM maintenance_windows WHERE id = $1")
        .bind(&s.id)
        .fetch_one(&mut **tx)
        .await?;
    if taken > 0 {
        return Ok(false);
    }
    let done = sqlx::query(
            "INSERT INTO schedules (id, cron, at, every, start_at, timezone, pools, message, misfire_grace, paused, created_at, updated_at, catch_up, desktops, resend_attempts, resend_after, workspace, selectors)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&s.id)
        .bind(&s.cron)
        .bind(&s.at)
        .bind(&s.every)
        .bind(&s.start)
        .bind(&s.timezone)
        .bind(pools)
        .bind(&s.message)
        .bind(&s.misfire_grace)
        .bind(i64::from(s.paused))
        .bind(stored_time(now))
        .bind(stored_time(now))
        .bind(&s.catch_up)
        .bind(s.extra.desktops_json())
        .bind(s.extra.resend_attempts)
        .bind(&s.extra.resend_after)
        .bind(&s.extra.workspace)
        .bind(s.extra.selectors.json())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}
