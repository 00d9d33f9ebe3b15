//! Deliveries that commands ended (`send`, `resend`, `send --test`, a cancel or postpone
//! notice): each runs in its own process, so the daemon adds them to its delivery counters at
//! each scrape of `/metrics`, and a dashboard shows them within one scrape. A command's
//! instance id marks its rows (`platform::instance::COMMAND_PREFIX`).

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::HashSet;

use crate::domain::Status;
use crate::platform::metrics as m;
use crate::store::Store;

/// How far back each look reaches before the previous one: a command records the time it
/// ended before its transaction commits, so a row may appear a little after that time.
const LOOK_BACK: TimeDelta = TimeDelta::seconds(60);

/// At most this many rows are read per look (the rest at the next scrape).
const MAX_ROWS: i64 = 10_000;

pub(super) struct CommandCounts {
    since: DateTime<Utc>,
    /// The rows of the last look, counted already.
    counted: HashSet<i64>,
    /// When counting began: rows that ended before are history.
    start: DateTime<Utc>,
    /// This instance: of several sharing a PostgreSQL store, only the longest running one
    /// counts (so a sum over instances counts each delivery once).
    me: String,
}

impl CommandCounts {
    /// Counting from `now`: what commands did before the daemon started is history.
    pub(super) fn new(now: DateTime<Utc>, me: &str) -> Self {
        CommandCounts {
            since: now,
            counted: HashSet::new(),
            start: now,
            me: me.to_owned(),
        }
    }

    /// Adds the rows ended since the last look (less what it counted) to the counters.
    pub(super) async fn count(&mut self, store: &Store, now: DateTime<Utc>) {
        let from = self.since - LOOK_BACK;
        let rows = match store.ended_by_commands(from, MAX_ROWS).await {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the deliveries commands made for /metrics; counted at the next scrape");
                return;
            }
        };
        if rows.len() as i64 == MAX_ROWS {
            tracing::warn!(
                "more than {MAX_ROWS} deliveries ended by commands since the last scrape; some are not counted in /metrics (the database has them all)"
            );
        }
        let counts = match store.speaks_for_all(&self.me).await {
            Ok(counts) => counts,
            Err(err) => {
                tracing::warn!(error = %err, "cannot tell which instance counts the deliveries commands made; counted at the next scrape");
                return;
            }
        };
        let mut seen = HashSet::with_capacity(rows.len());
        for row in rows {
            if counts
                && row.finished_at >= self.start
                && !self.counted.contains(&row.id)
                && let Some(status) = Status::parse(&row.status)
            {
                m::delivery_ended(&row.schedule_id, &row.workspace, status.as_str());
            }
            seen.insert(row.id);
        }
        self.counted = seen;
        self.since = now;
    }
}
