//! Migrations applied to a database that holds rows written by an earlier version.

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::helpers::*;

/// The test's database migrated by every migration before the first whose description
/// contains `first_new`, as an older version left it.
async fn migrated_before(env: &TestEnv, first_new: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    let (url, engine) = match &env.postgres {
        Some(url) => (url.clone(), "postgres"),
        None => (
            format!("sqlite://{}?mode=rwc", env.db_path().display()),
            "sqlite",
        ),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let dir = format!("{}/migrations/{engine}", env!("CARGO_MANIFEST_DIR"));
    let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(&dir))
        .await
        .unwrap();
    let keep = migrator
        .migrations
        .iter()
        .position(|m| m.description.contains(first_new))
        .expect("the migration exists");
    migrator.migrations = migrator.migrations[..keep].to_vec().into();
    migrator.run(&pool).await.unwrap();
    pool
}

#[tokio::test]
async fn stored_times_become_milliseconds_and_since_compares_them_exactly() {
    let env = TestEnv::new().await;
    let old = migrated_before(&env, "millisecond").await;
    // What earlier versions wrote: 0, 1 (hand-made), 3, 6 or 9 fractional digits.
    let due = [
        "2026-12-01T01:00:00Z",
        "2026-12-01T01:00:00.5Z",
        "2026-12-01T01:00:00.123456789Z",
        "2026-12-01T00:59:59.999999Z",
    ];
    for (i, due_at) in due.iter().enumerate() {
        sqlx::query(
            "INSERT INTO deliveries (schedule_id, target, pool_id, due_at, deadline_at, message, status, created_at)
             VALUES ('tick', $1, $1, $2, $2, 'm', 'sent', $2)",
        )
        .bind(format!("pool-{i}"))
        .bind(*due_at)
        .execute(&old)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO schedule_state (schedule_id, anchor_at, last_due_at) VALUES ('tick', 'not a time', '2026-12-01T01:00:00.123Z')")
        .execute(&old)
        .await
        .unwrap();
    old.close().await;
    let config = env.write_config("");
    // The next command migrates; `--since` a fraction of a millisecond after 01:00:00 takes
    // in only the rows after it (as text, "…00Z" sorted after "…00.5Z" before).
    let out = env
        .run(&[
            "history",
            "--config",
            config.to_str().unwrap(),
            "--since",
            "2026-12-01T01:00:00.0001Z",
            "--json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let listed: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["due_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["2026-12-01T01:00:00.500Z", "2026-12-01T01:00:00.123Z"],
        "{}",
        stdout(&out)
    );
    let db = env.db().await;
    let mut stored: Vec<(String, String)> =
        sqlx::query_as("SELECT due_at, created_at FROM deliveries ORDER BY due_at")
            .fetch_all(&db)
            .await
            .unwrap();
    stored.dedup();
    assert_eq!(
        stored
            .iter()
            .map(|(d, c)| {
                assert_eq!(d, c);
                d.as_str()
            })
            .collect::<Vec<_>>(),
        [
            "2026-12-01T00:59:59.999Z",
            "2026-12-01T01:00:00.000Z",
            "2026-12-01T01:00:00.123Z",
            "2026-12-01T01:00:00.500Z"
        ]
    );
    // A value not in the program's format is left for the operator to see.
    let anchor: String = sqlx::query_scalar("SELECT anchor_at FROM schedule_state")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(anchor, "not a time");
}

/// Deliveries recorded before there could be several workspaces become `default`'s, keep
/// their ids, and the new unique key still holds them once each.
#[tokio::test]
async fn existing_deliveries_become_the_default_workspaces() {
    let env = TestEnv::new().await;
    let old = migrated_before(&env, "workspaces").await;
    for (i, pool) in ["pool-a", "pool-b"].iter().enumerate() {
        sqlx::query(
            "INSERT INTO deliveries (id, schedule_id, target, pool_id, due_at, deadline_at, message, status, created_at)
             VALUES ($1, 'tick', $2, $2, '2026-12-01T01:00:00.000Z', '2026-12-01T01:05:00.000Z', 'm', 'sent', '2026-12-01T01:00:00.000Z')",
        )
        .bind(40 + i as i64)
        .bind(format!("pool:{pool}"))
        .execute(&old)
        .await
        .unwrap();
    }
    old.close().await;
    let config = env.write_config("");
    let out = env
        .run(&["history", "--config", config.to_str().unwrap(), "--json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let got: Vec<(i64, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["workspace"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [(41, "default"), (40, "default")]);
    // The same schedule, target and time in another workspace is another delivery.
    let db = env.db().await;
    sqlx::query(
        "INSERT INTO deliveries (schedule_id, workspace, target, pool_id, due_at, deadline_at, message, status, created_at)
         VALUES ('tick', 'eu', 'pool:pool-a', 'pool-a', '2026-12-01T01:00:00.000Z', '2026-12-01T01:05:00.000Z', 'm', 'sent', '2026-12-01T01:00:00.000Z')",
    )
    .execute(&db)
    .await
    .unwrap();
    let again = sqlx::query(
        "INSERT INTO deliveries (schedule_id, workspace, target, pool_id, due_at, deadline_at, message, status, created_at)
         VALUES ('tick', 'default', 'pool:pool-a', 'pool-a', '2026-12-01T01:00:00.000Z', '2026-12-01T01:05:00.000Z', 'm', 'sent', '2026-12-01T01:00:00.000Z')",
    )
    .execute(&db)
    .await;
    assert!(again.is_err(), "the unique key includes the workspace");
}
