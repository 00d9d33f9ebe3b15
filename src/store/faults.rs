//! Fault injection for the integration tests, compiled only with the `faults` feature (the test build): the tests run
//! the real binary, and some faults cannot be caused from outside without root.
//!
//! `WORKSPACE_NOTIFIER_FAULT_MAX_PAGES_FILE=PATH`: before a connection is used, the number in
//! PATH becomes its `PRAGMA max_page_count` (SQLite raises a value below the current size to
//! the current size), so a test makes the database "full" by writing `1` and gives room back
//! by removing the file. Other builds ignore the variable.

use sqlx::AnyConnection;

/// SQLite's default page limit, restored when the file is gone.
#[cfg(feature = "faults")]
const DEFAULT_MAX_PAGES: u64 = 4_294_967_294;

#[cfg(feature = "faults")]
pub(super) async fn limit_pages(conn: &mut AnyConnection) {
    let Some(path) = std::env::var_os("WORKSPACE_NOTIFIER_FAULT_MAX_PAGES_FILE") else {
        return;
    };
    let pages = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_MAX_PAGES);
    let sql = format!("PRAGMA max_page_count = {pages}");
    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(conn).await;
}

#[cfg(not(feature = "faults"))]
pub(super) async fn limit_pages(_conn: &mut AnyConnection) {}
