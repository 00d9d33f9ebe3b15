//! Pausing anything for a while, with a reason: a file schedule paused `--until` goes quiet
//! and comes back by itself; a freeze stops every schedule but lets windows warn unless
//! `--include-windows`; `status` says so.

use chrono::{TimeDelta, Utc};
use std::time::Duration;

use crate::helpers::*;

fn count(rows: &[DeliveryRecord], id: &str) -> usize {
    rows.iter().filter(|r| r.schedule_id == id).count()
}

#[tokio::test]
async fn a_file_schedule_paused_until_a_time_goes_quiet_and_comes_back_by_itself() {
    let env = TestEnv::new().await;
    let config = env.write_config(&format!(
        "[jobs]\nenabled = false\n\n{}",
        schedule_toml("tick", "every = \"1s\"", &[POOL], "")
    ));
    let c = config.to_str().unwrap();
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    assert!(wait_for(10, || async { count(&deliveries(&db).await, "tick") >= 2 }).await);
    let paused = env
        .run(&[
            "schedule", "pause", "tick", "--until", "+6s", "--note", "release", "--config", c,
        ])
        .await;
    assert_eq!(paused.status.code(), Some(0), "{}", stderr(&paused));
    // Applied within 2 s; then nothing for a while.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let quiet = count(&deliveries(&db).await, "tick");
    let status = env.run(&["status", "--config", c]).await;
    assert!(
        stdout(&status).contains("paused tick until ") && stdout(&status).contains(": release"),
        "{}",
        stdout(&status)
    );
    let doc = env.run(&["status", "--json", "--config", c]).await;
    let doc: serde_json::Value = serde_json::from_slice(&doc.stdout).unwrap();
    assert_eq!(doc["pauses"][0]["id"], "tick");
    assert_eq!(doc["pauses"][0]["note"], "release");
    assert!(
        doc["pauses"][0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("unix:")),
        "{doc}"
    );
    // A paused file schedule is `paused`, not `disabled`; `schedule show` says why.
    let listed = env
        .run(&["schedule", "show", "tick", "--json", "--config", c])
        .await;
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["state"], "paused");
    let shown = stdout(&env.run(&["schedule", "show", "tick", "--config", c]).await);
    assert!(
        shown.contains("state:         paused")
            && shown.contains(": release")
            && shown.contains(", by unix:"),
        "{shown}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        count(&deliveries(&db).await, "tick"),
        quiet,
        "paused: quiet"
    );
    // The pause ends by itself: it fires again without a command.
    let back = wait_for(10, || async {
        count(&deliveries(&db).await, "tick") > quiet
    })
    .await;
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(back, "resumed by itself");
}

/// The agenda's states of `tick` and of `patch` over the next 3 hours.
async fn agenda(env: &TestEnv, c: &str) -> (Vec<String>, Vec<String>) {
    (
        agenda_states(env, c, "+3h", "tick").await,
        agenda_states(env, c, "+3h", "patch").await,
    )
}

#[tokio::test]
async fn a_freeze_pauses_every_schedule_and_lets_windows_warn_unless_told() {
    let env = TestEnv::new().await;
    let start = (Utc::now() + TimeDelta::hours(2)).to_rfc3339();
    let config = env.write_config(&format!(
        "{}[[maintenance_windows]]\nid = \"patch\"\nstart = \"{start}\"\nduration = \"1h\"\nnotify_before = [\"1h\"]\npools = [\"{POOL}\"]\nmessage = \"restart in {{time_left}}\"\n",
        schedule_toml("tick", "cron = \"0 */30 * * * *\"", &[POOL], ""),
    ));
    let c = config.to_str().unwrap();
    let frozen = env
        .run(&[
            "freeze", "--until", "+1d", "--note", "year-end", "--config", c,
        ])
        .await;
    assert_eq!(frozen.status.code(), Some(0), "{}", stderr(&frozen));
    let (tick, patch) = agenda(&env, c).await;
    assert!(
        !tick.is_empty() && tick.iter().all(|s| s == "paused"),
        "{tick:?}"
    );
    assert_eq!(patch, ["planned"]);
    let status = stdout(&env.run(&["status", "--config", c]).await);
    assert!(
        status.contains("FROZEN until ") && status.contains(": year-end"),
        "{status}"
    );
    let all = env
        .run(&["freeze", "--include-windows", "--config", c])
        .await;
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let (_, patch) = agenda(&env, c).await;
    assert_eq!(patch, ["paused"]);
    let end = env.run(&["freeze", "--end", "--config", c]).await;
    assert_eq!(end.status.code(), Some(0), "{}", stderr(&end));
    let (tick, patch) = agenda(&env, c).await;
    assert!(tick.iter().all(|s| s == "planned"), "{tick:?}");
    assert_eq!(patch, ["planned"]);
    let again = env.run(&["freeze", "--end", "--config", c]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("no freeze"), "{}", stderr(&again));
}
