//! The daemon end to end: firing on time, once, across restarts, signals and reloads.

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use std::time::Duration;

use crate::fake::Reply;
use crate::helpers::*;

#[tokio::test]
async fn a_cron_schedule_fires_on_its_seconds() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml(
        "tick",
        "cron = \"* * * * * *\"",
        &[POOL, "pool-b"],
        "",
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(6, || async { env.fake.received().len() >= 6 }).await,
        "{}",
        daemon.logs()
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    let rows = deliveries(&env.db().await).await;
    for row in &rows {
        let due: DateTime<Utc> = row.due_at.parse().unwrap();
        assert_eq!(due.nanosecond(), 0, "due on a whole second: {}", row.due_at);
        assert_eq!(row.message, "message of tick");
    }
    let mut keys: Vec<_> = rows
        .iter()
        .map(|r| (r.pool_id.clone(), r.due_at.clone()))
        .collect();
    keys.dedup();
    assert_eq!(keys.len(), rows.len(), "no occurrence doubled");
    for got in env.fake.received() {
        assert_eq!(got.auth_problem, None);
        let late = got.at - got.at.with_nanosecond(0).unwrap();
        assert!(
            late < TimeDelta::milliseconds(900),
            "arrived {late} after its second"
        );
    }
}

#[tokio::test]
async fn a_one_shot_fires_once_even_across_a_restart() {
    let env = TestEnv::new().await;
    let at = (Utc::now() + TimeDelta::seconds(2))
        .with_nanosecond(0)
        .unwrap();
    let config = env.write_config(&schedule_toml(
        "once",
        &format!("at = \"{}\"", at.to_rfc3339()),
        &[POOL],
        "",
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(6, || async { env.fake.received().len() == 1 }).await,
        "{}",
        daemon.logs()
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    let again = env.spawn_daemon(&config).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(again.stop(5).await, Some(0));
    assert_eq!(env.fake.received().len(), 1);
    let rows = deliveries(&env.db().await).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].status.as_str(), rows[0].due_at.as_str()),
        (
            "sent",
            at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string().as_str()
        )
    );
}

#[tokio::test]
async fn sigterm_mid_retry_leaves_a_pending_row_that_the_next_start_completes() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::error(500, "WKS.0500")]);
    let at = (Utc::now() + TimeDelta::seconds(1))
        .with_nanosecond(0)
        .unwrap()
        + TimeDelta::seconds(1);
    let config = env.write_config_with(
        &env.fake.endpoint(),
        "max_attempts = 5\ninitial_delay = \"20s\"\nmax_delay = \"20s\"\nmax_elapsed = \"10m\"",
        &schedule_toml(
            "maint",
            &format!("at = \"{}\"", at.to_rfc3339()),
            &[POOL],
            "",
        ),
    );
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(6, || async { env.fake.received().len() == 1 }).await,
        "{}",
        daemon.logs()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        daemon.stop(5).await,
        Some(0),
        "SIGTERM during the backoff exits 0 at once"
    );
    let rows = deliveries(&env.db().await).await;
    assert_eq!(
        (rows.len(), rows[0].status.as_str(), rows[0].attempts),
        (1, "pending", 1)
    );

    let again = env.spawn_daemon(&config).await;
    assert!(
        wait_for(6, || async { env.fake.received().len() == 2 }).await,
        "{}",
        again.logs()
    );
    assert!(
        wait_for(3, || async {
            deliveries(&env.db().await).await[0].status == "sent"
        })
        .await
    );
    assert_eq!(again.stop(5).await, Some(0));
    let rows = deliveries(&env.db().await).await;
    assert_eq!(
        (rows.len(), rows[0].attempts),
        (1, 2),
        "resumed, not duplicated"
    );
    let tries = attempts(&env.db().await, rows[0].id).await;
    assert_eq!(
        tries.iter().map(|t| t.0).collect::<Vec<_>>(),
        [1, 2],
        "attempt numbering continues"
    );
}

#[tokio::test]
async fn sighup_adds_and_removes_schedules() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml(
        "old",
        "cron = \"* * * * * *\"",
        &["pool-old"],
        "",
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(5, || async {
            env.fake
                .received()
                .iter()
                .any(|r| r.path.contains("pool-old"))
        })
        .await,
        "{}",
        daemon.logs()
    );
    env.write_config(&schedule_toml(
        "new",
        "cron = \"* * * * * *\"",
        &["pool-new"],
        "",
    ));
    daemon.signal("HUP");
    assert!(
        wait_for(5, || async {
            env.fake
                .received()
                .iter()
                .any(|r| r.path.contains("pool-new"))
        })
        .await,
        "{}",
        daemon.logs()
    );
    let old_count = env
        .fake
        .received()
        .iter()
        .filter(|r| r.path.contains("pool-old"))
        .count();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let later_old = env
        .fake
        .received()
        .iter()
        .filter(|r| r.path.contains("pool-old"))
        .count();
    assert_eq!(old_count, later_old, "the removed schedule no longer fires");
    assert_eq!(daemon.stop(5).await, Some(0));
    let rows = deliveries(&env.db().await).await;
    assert!(
        rows.iter().any(|r| r.schedule_id == "old"),
        "history of a removed schedule stays"
    );
}

#[tokio::test]
async fn an_invalid_config_on_sighup_keeps_the_old_schedules() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml(
        "keep",
        "cron = \"* * * * * *\"",
        &[POOL],
        "",
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(5, || async { !env.fake.received().is_empty() }).await,
        "{}",
        daemon.logs()
    );
    env.write_config(&schedule_toml(
        "broken",
        "cron = \"every tuesday\"",
        &[POOL],
        "",
    ));
    daemon.signal("HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = env.fake.received().len();
    assert!(
        wait_for(4, || async { env.fake.received().len() >= before + 2 }).await,
        "old schedule kept firing"
    );
    let logs = daemon.logs();
    assert!(
        logs.contains("reload refused") && logs.contains("schedules[0].cron"),
        "{logs}"
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(
        deliveries(&env.db().await)
            .await
            .iter()
            .all(|r| r.schedule_id == "keep")
    );
}

#[tokio::test]
async fn a_reload_that_would_drop_every_schedule_is_refused() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml("keep", "every = \"1s\"", &[POOL], ""));
    let daemon = env.spawn_daemon(&config).await;
    assert!(wait_for(5, || async { !env.fake.received().is_empty() }).await);
    // The settings alone, every schedule gone; then a file truncated to nothing.
    env.write_config("");
    daemon.signal("HUP");
    assert!(
        wait_for(5, || async {
            daemon
                .logs()
                .contains("it would remove all 1 schedules and windows of the file")
        })
        .await,
        "{}",
        daemon.logs()
    );
    std::fs::write(&config, "").unwrap();
    daemon.signal("HUP");
    assert!(
        wait_for(5, || async {
            daemon.logs().contains("the config file is empty")
        })
        .await,
        "{}",
        daemon.logs()
    );
    let before = env.fake.received().len();
    assert!(
        wait_for(4, || async { env.fake.received().len() >= before + 2 }).await,
        "the schedule kept firing"
    );
    assert_eq!(daemon.logs().matches("reload refused").count(), 2);
    assert_eq!(daemon.stop(5).await, Some(0));
    // `check` refuses the empty file too (exit 78).
    let out = env
        .run(&["check", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
}

#[tokio::test]
async fn all_pools_due_at_one_instant_are_claimed_in_one_transaction() {
    let env = TestEnv::new().await;
    let pools: Vec<String> = (0..50).map(|i| format!("pool-{i:03}")).collect();
    let refs: Vec<&str> = pools.iter().map(String::as_str).collect();
    let at = (Utc::now() + TimeDelta::seconds(2))
        .with_nanosecond(0)
        .unwrap();
    let config = env.write_config(&schedule_toml(
        "wide",
        &format!("at = \"{}\"", at.to_rfc3339()),
        &refs,
        "",
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(8, || async { env.fake.received().len() == 50 }).await,
        "{}",
        daemon.logs()
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    let db = env.db().await;
    let created: Vec<String> = sqlx::query_scalar("SELECT DISTINCT created_at FROM deliveries")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(
        created.len(),
        1,
        "one claim for the whole burst: {created:?}"
    );
}

#[tokio::test]
async fn check_lists_fire_times_across_dst_in_zone_and_utc() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml(
        "berlin",
        "cron = \"0 30 2 * * *\"\ntimezone = \"Europe/Berlin\"",
        &[POOL],
        "",
    ));
    let out = env
        .run(&[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--from",
            "2026-03-28T12:00:00Z",
            "--next",
            "2",
            "--json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let next = &doc["schedules"][0]["upcoming"];
    assert_eq!(next[0]["due_at"], "2026-03-29T01:00:00Z");
    assert_eq!(next[0]["local"], "2026-03-29T03:00:00+02:00");
    assert_eq!(next[1]["due_at"], "2026-03-30T00:30:00Z");
    assert_eq!(doc["schedules"][0]["next"], "2026-03-29T01:00:00Z");
    let bad = env.write_config(&schedule_toml("x", "every = \"0s\"", &[POOL], ""));
    let out = env.run(&["check", "--config", bad.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(78));
    assert!(
        stderr(&out).contains("schedules[0].every: must be between 1s and 366d, got \"0s\""),
        "{}",
        stderr(&out)
    );
    let config = env.write_config("");
    let bad_from = env
        .run(&[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--from",
            "tomorrow",
        ])
        .await;
    assert_eq!(bad_from.status.code(), Some(78));
    assert!(
        stderr(&bad_from).contains("--from: invalid time \"tomorrow\""),
        "{}",
        stderr(&bad_from)
    );
}

#[tokio::test]
async fn a_schedule_removed_and_added_again_starts_fresh_without_missed_rows() {
    let env = TestEnv::new().await;
    let tick = schedule_toml(
        "tick",
        "cron = \"* * * * * *\"",
        &[POOL],
        "misfire_grace = \"0s\"",
    );
    let config = env.write_config(&tick);
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(5, || async { env.fake.received().len() >= 2 }).await,
        "{}",
        daemon.logs()
    );
    env.write_config("");
    daemon.signal("HUP");
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let before = env.fake.received().len();
    env.write_config(&tick);
    daemon.signal("HUP");
    assert!(
        wait_for(4, || async { env.fake.received().len() >= before + 2 }).await,
        "{}",
        daemon.logs()
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    let rows = deliveries(&env.db().await).await;
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    assert!(
        statuses.iter().all(|s| *s == "sent"),
        "on-time fires with a zero grace, no missed rows for the gap: {statuses:?}"
    );
}

#[tokio::test]
async fn check_counts_an_every_schedule_from_the_anchor_the_daemon_stored() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml("hourly", "every = \"1h\"", &[POOL], ""));
    let daemon = env.spawn_daemon(&config).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(daemon.stop(5).await, Some(0));
    let db = env.db().await;
    let anchor: String =
        sqlx::query_scalar("SELECT anchor_at FROM schedule_state WHERE schedule_id = 'hourly'")
            .fetch_one(&db)
            .await
            .unwrap();
    let anchor: DateTime<Utc> = anchor.parse().unwrap();
    let from = anchor + TimeDelta::minutes(10);
    let out = env
        .run(&[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--from",
            &from.to_rfc3339(),
            "--next",
            "1",
            "--json",
        ])
        .await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = (anchor + TimeDelta::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(doc["schedules"][0]["next"], expected.as_str());
}
