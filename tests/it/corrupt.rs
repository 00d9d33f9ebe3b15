//! A stray value in the database (a row edited by hand) is an error naming the row for a
//! command, and a logged, skipped row for the daemon, never a panic or a restart loop.

use crate::helpers::*;

#[tokio::test]
async fn a_wrong_typed_value_names_its_row_and_the_daemon_keeps_firing() {
    let env = TestEnv::new().await;
    if !env.sqlite_only("a_wrong_typed_value") {
        return; // PostgreSQL enforces column types: no such value can be stored there.
    }
    let config = env.write_config(&schedule_toml("tick", "every = \"1s\"", &["pool-1"], ""));
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    assert!(wait_for(10, || async { count_status(&db, "sent").await >= 2 }).await);
    assert_eq!(daemon.stop(10).await, Some(0));
    let bad: i64 = sqlx::query_scalar("SELECT MIN(id) FROM deliveries")
        .fetch_one(&db)
        .await
        .unwrap();
    // A command: exit 1, naming table, column and row; nothing else is lost.
    sqlx::query("UPDATE deliveries SET attempts = 'abc' WHERE id = $1")
        .bind(bad)
        .execute(&db)
        .await
        .unwrap();
    let config_arg = config.to_str().unwrap();
    for args in [
        vec!["history", "--config", config_arg],
        vec!["show", "--config", config_arg, &bad.to_string()],
    ] {
        let out = env.run(&args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "unreadable value in deliveries.attempts of the row with id {bad}"
            )),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    // The daemon: a pending row it cannot read (left by a crash, then edited) is logged at
    // error and skipped; the schedule keeps firing.
    sqlx::query("UPDATE deliveries SET status = 'pending', claimed_by = 'gone' WHERE id = $1")
        .bind(bad)
        .execute(&db)
        .await
        .unwrap();
    let sent_before = count_status(&db, "sent").await;
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(10, || async {
            count_status(&db, "sent").await >= sent_before + 3
        })
        .await,
        "{}",
        daemon.logs()
    );
    let logs = daemon.logs();
    assert!(
        logs.contains("ERROR")
            && logs.contains(&format!("deliveries.attempts of the row with id {bad}")),
        "{logs}"
    );
    assert_eq!(
        logs.matches("skipping a row that cannot be read").count(),
        1,
        "{logs}"
    );
    assert_eq!(daemon.stop(10).await, Some(0));
    // The row itself is left as it was, for the operator to fix.
    let attempts: String =
        sqlx::query_scalar("SELECT CAST(attempts AS TEXT) FROM deliveries WHERE id = $1")
            .bind(bad)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(attempts, "abc");
}

#[tokio::test]
async fn a_database_schedule_with_a_broken_list_is_skipped_by_the_daemon() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml("tick", "every = \"1s\"", &["pool-1"], ""));
    let config_arg = config.to_str().unwrap();
    let out = env
        .run(&[
            "schedule",
            "add",
            "--config",
            config_arg,
            "--id",
            "db-one",
            "--every",
            "1s",
            "--pool",
            "pool-2",
            "--message",
            "m",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let db = env.db().await;
    sqlx::query("UPDATE schedules SET pools = 'not json' WHERE id = 'db-one'")
        .execute(&db)
        .await
        .unwrap();
    let out = env.run(&["schedule", "list", "--config", config_arg]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "schedules.pools of the row with id \"db-one\": \"not json\" is not a JSON list of strings"
        ),
        "{}",
        stderr(&out)
    );
    let daemon = env.spawn_daemon(&config).await;
    assert!(wait_for(10, || async { count_status(&db, "sent").await >= 2 }).await);
    assert!(
        daemon
            .logs()
            .contains("schedules.pools of the row with id \"db-one\"")
    );
    assert_eq!(daemon.stop(10).await, Some(0));
}
