//! A fresh PostgreSQL database on a server given by a superuser URL (the tests' and the
//! benchmarks' `WORKSPACE_NOTIFIER_TEST_POSTGRES`, see `tests/pg/cluster.sh`).

use sqlx::Executor;

/// Makes an empty database named after `label`, this process and a counter; its URL.
pub(crate) async fn fresh_database(base: &str, label: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    sqlx::any::install_default_drivers();
    let name = format!(
        "{label}_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await
        .unwrap_or_else(|e| panic!("{base}: {e}"));
    pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    pool.close().await;
    let mut url = reqwest::Url::parse(base).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}
