//! Reading a row's values without panicking. A value of the wrong type or shape (a row edited
//! by hand: `UPDATE deliveries SET attempts = 'abc'`) becomes [`StoreError::Corrupt`] naming
//! the table, the column and the row, never a panic.
//!
//! Who reads decides what a bad row costs: a command fails naming it (exit 1); the daemon's
//! handle ([`Store::skipping_unreadable`]) logs it at error, once per row, and goes on without
//! it, so one bad row cannot stop every schedule or put the service in a restart loop.

use chrono::{DateTime, Utc};
use sqlx::any::{Any, AnyRow};
use sqlx::{Decode, Row, Type};
use std::collections::HashSet;
use std::fmt::Display;
use std::sync::{LazyLock, Mutex};

use super::time::parse_time;
use super::{Store, StoreError};

/// One row of `table`, read column by column.
pub(super) struct Cells<'r> {
    row: &'r AnyRow,
    table: &'static str,
}

impl<'r> Cells<'r> {
    pub(super) fn new(table: &'static str, row: &'r AnyRow) -> Self {
        Cells { row, table }
    }

    /// A column's value as `T`; a value of another type is `Corrupt`.
    pub(super) fn get<T>(&self, column: &'static str) -> Result<T, StoreError>
    where
        T: Decode<'r, Any> + Type<Any>,
    {
        self.row.try_get(column).map_err(|err| {
            let problem = match err {
                sqlx::Error::ColumnDecode { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            self.corrupt(column, problem)
        })
    }

    /// A timestamp column.
    pub(super) fn time(&self, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
        let text: String = self.get(column)?;
        self.parsed_time(column, &text)
    }

    /// A timestamp column that may be NULL.
    pub(super) fn optional_time(
        &self,
        column: &'static str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let text: Option<String> = self.get(column)?;
        text.map(|t| self.parsed_time(column, &t)).transpose()
    }

    /// A count column: negative values read as 0.
    pub(super) fn count(&self, column: &'static str) -> Result<u32, StoreError> {
        let n: i64 = self.get(column)?;
        Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
    }

    /// A JSON list of strings.
    pub(super) fn list(&self, column: &'static str) -> Result<Vec<String>, StoreError> {
        let text: String = self.get(column)?;
        self.parsed_list(column, &text)
    }

    pub(super) fn parsed_list(
        &self,
        column: &'static str,
        text: &str,
    ) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(text).map_err(|_| {
            self.corrupt(
                column,
                format!("{} is not a JSON list of strings", shown(text)),
            )
        })
    }

    /// A JSON object column read into `T` (unknown keys ignored, missing ones defaulted).
    pub(super) fn parsed_json<T: serde::de::DeserializeOwned>(
        &self,
        column: &'static str,
        text: &str,
    ) -> Result<T, StoreError> {
        serde_json::from_str(text).map_err(|e| {
            self.corrupt(
                column,
                format!("{} is not the expected JSON object: {e}", shown(text)),
            )
        })
    }

    fn parsed_time(&self, column: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
        parse_time(text).map_err(|_| self.corrupt(column, format!("{} is not a time", shown(text))))
    }

    /// The error for a value of `column` this program cannot use.
    pub(super) fn corrupt(&self, column: &'static str, problem: impl Display) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            column,
            row: self.key(),
            problem: problem.to_string(),
        }
    }

    /// How the row is named in an error: its id, or the key it is found by.
    fn key(&self) -> String {
        for column in ["id", "delivery_id", "schedule_id", "window_id"] {
            if let Ok(id) = self.row.try_get::<i64, _>(column) {
                return format!("{column} {id}");
            }
            if let Ok(id) = self.row.try_get::<String, _>(column) {
                return format!("{column} {}", shown(&id));
            }
        }
        "a row without a readable key".to_owned()
    }
}

/// A stored value as it is echoed in an error: quoted, escaped, at most 60 characters.
pub(super) fn shown(text: &str) -> String {
    format!("\"{}\"", crate::domain::shown(text, 60))
}

impl Store {
    /// This handle, for the daemon: a list read with [`Store::readable`] leaves out the rows
    /// it cannot read (logged at error, once per row) instead of failing.
    pub(crate) fn skipping_unreadable(mut self) -> Store {
        self.skip_unreadable = true;
        self
    }

    /// The rows read, or (for a command) the first row that could not be.
    pub(super) fn readable<T>(
        &self,
        rows: impl IntoIterator<Item = Result<T, StoreError>>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for row in rows {
            out.extend(self.keep(row)?);
        }
        Ok(out)
    }

    /// One row read: the value; for the daemon's handle `None` when it could not be read;
    /// for a command the error.
    pub(super) fn keep<T>(&self, row: Result<T, StoreError>) -> Result<Option<T>, StoreError> {
        match row {
            Ok(value) => Ok(Some(value)),
            Err(err @ StoreError::Corrupt { .. }) if self.skip_unreadable => {
                log_once(&err);
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }
}

/// Logs a skipped row at error the first time it is met (the same row is met on every pass of
/// the loop that reads it). Bounded: past 10,000 distinct rows, repeats are logged again.
fn log_once(err: &StoreError) {
    static SEEN: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);
    let text = err.to_string();
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.len() >= 10_000 {
        seen.clear();
    }
    if seen.insert(text) {
        tracing::error!(error = %err, "skipping a row that cannot be read; fix or delete it");
    }
}
