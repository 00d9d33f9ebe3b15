//! Pauses of schedules, windows and task warning rules (file or database), with an optional
//! end and a note, and the freeze of every schedule (the row `*`).

use chrono::{DateTime, Utc};

use super::cells::Cells;
use super::time::stored_time;
use super::{Store, StoreError};

/// The id the freeze of every schedule is kept under.
pub(crate) const FREEZE: &str = "*";

/// One pause (or the freeze).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pause {
    pub schedule_id: String,
    /// None: until resumed.
    pub until: Option<DateTime<Utc>>,
    pub note: Option<String>,
    /// For the freeze: windows and task warnings stop too.
    pub include_windows: bool,
    pub created_at: DateTime<Utc>,
    /// Who set it (`unix:USER` from the command line); None on rows from before.
    pub actor: Option<String>,
}

impl Pause {
    /// In force at `now`.
    pub(crate) fn active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

impl Store {
    /// Pauses `pause.schedule_id` (replacing a pause it had).
    pub(crate) async fn pause(&self, pause: &Pause) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pauses (schedule_id, until_at, note, include_windows, created_at, actor) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (schedule_id) DO UPDATE SET until_at = $2, note = $3, include_windows = $4, created_at = $5, actor = $6",
        )
        .bind(&pause.schedule_id)
        .bind(pause.until.map(stored_time))
        .bind(&pause.note)
        .bind(i64::from(pause.include_windows))
        .bind(stored_time(pause.created_at))
        .bind(&pause.actor)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends the pause of `schedule_id`; false when it had none.
    pub(crate) async fn unpause(&self, schedule_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM pauses WHERE schedule_id = $1")
            .bind(schedule_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every pause, ended ones included (the caller checks [`Pause::active`]).
    pub(crate) async fn pauses(&self) -> Result<Vec<Pause>, StoreError> {
        let rows = sqlx::query(
            "SELECT schedule_id, until_at, note, include_windows, created_at, actor FROM pauses ORDER BY schedule_id",
        )
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(|row| {
            let c = Cells::new("pauses", row);
            Ok(Pause {
                schedule_id: c.get("schedule_id")?,
                until: c.optional_time("until_at")?,
                note: c.get("note")?,
                include_windows: c.get::<i64>("include_windows")? != 0,
                created_at: c.time("created_at")?,
                actor: c.get("actor")?,
            })
        }))
    }
}
