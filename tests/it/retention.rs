//! Retention: `history prune --older-than D` and `[history] keep` in the daemon remove old
//! deliveries with their attempts, and nothing recent or pending.

use crate::helpers::*;

/// Three sends, two of them made old (due in January).
async fn three_sent_two_old(env: &TestEnv, config: &std::path::Path) {
    let c = config.to_str().unwrap();
    for pool in ["pool-a", "pool-b", "pool-c"] {
        let out = env
            .run(&["send", "--config", c, "--pool", pool, "--message", "hi"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let db = env.db().await;
    sqlx::query(
        "UPDATE deliveries SET due_at = '2026-01-05T00:00:00.000Z' WHERE pool_id <> 'pool-c'",
    )
    .execute(&db)
    .await
    .unwrap();
}

async fn counts(env: &TestEnv) -> (i64, i64) {
    let db = env.db().await;
    let deliveries: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
        .fetch_one(&db)
        .await
        .unwrap();
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts")
        .fetch_one(&db)
        .await
        .unwrap();
    (deliveries, attempts)
}

#[tokio::test]
async fn history_prune_removes_old_deliveries_with_their_attempts_and_says_how_many() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    three_sent_two_old(&env, &config).await;
    let c = config.to_str().unwrap();
    let short = env
        .run(&["history", "prune", "--older-than", "1h", "--config", c])
        .await;
    assert_eq!(short.status.code(), Some(78), "{}", stderr(&short));
    assert!(
        stderr(&short).contains("--older-than"),
        "{}",
        stderr(&short)
    );
    assert_eq!(counts(&env).await, (3, 3));
    let out = env
        .run(&["history", "prune", "--older-than", "30d", "--config", c])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("pruned 2 deliveries, 2 attempts and 0 recipients due before "),
        "{}",
        stdout(&out)
    );
    assert_eq!(counts(&env).await, (1, 1));
    let again = env
        .run(&["history", "prune", "--older-than", "30d", "--config", c])
        .await;
    assert!(
        stdout(&again).starts_with("pruned 0 deliveries"),
        "{}",
        stdout(&again)
    );
}

#[tokio::test]
async fn the_daemon_prunes_what_history_keep_lets_go() {
    let env = TestEnv::new().await;
    let config = env.write_config("[history]\nkeep = \"30d\"\n");
    three_sent_two_old(&env, &config).await;
    let daemon = env.spawn_daemon(&config).await;
    let pruned = wait_for(10, || async { counts(&env).await == (1, 1) }).await;
    let logs = daemon.logs();
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(pruned, "{:?}\n{logs}", counts(&env).await);
    assert!(
        logs.contains("pruned the history older than 30days"),
        "{logs}"
    );
}
