//! Workspace's maintenance mode around a window with `maintenance_mode = true`, through the
//! daemon against the fake Workspace: switched on at the start and off at the end for exactly
//! the desktops it switched on (one already in maintenance mode is left alone), the switch-off
//! after a `kill -9` inside the window, a cancel inside the window, and dry run.

use chrono::{TimeDelta, Utc};
use sqlx::Row;

use crate::fake::FakeDesktop;
use crate::helpers::*;

/// d0-d3 in pool-m (d1 already in maintenance mode), d4 and d5 personal.
fn estate() -> Vec<FakeDesktop> {
    (0..6)
        .map(|i| FakeDesktop {
            id: format!("d{i}"),
            users: vec![format!("user{i}")],
            pool: (i < 4).then(|| "pool-m".to_owned()),
            connect_status: "CONNECTED",
            in_maintenance_mode: i == 1,
            ..FakeDesktop::default()
        })
        .collect()
}

fn window(start_in: i64, duration: &str) -> String {
    let start = (Utc::now() + TimeDelta::seconds(start_in)).to_rfc3339();
    format!(
        r#"[jobs]
enabled = false

[[maintenance_windows]]
id = "patch"
start = "{start}"
duration = "{duration}"
notify_before = ["1s"]
pools = ["pool-m"]
desktops = ["d4"]
message = "Maintenance at {{start}}."
maintenance_mode = true
"#
    )
}

/// (target, status, parent_id, maintenance_mode, attempts) of the switch rows, by id.
async fn switches(env: &TestEnv) -> Vec<(String, String, Option<i64>, String, i64)> {
    let db = env.db().await;
    sqlx::query("SELECT target, status, parent_id, maintenance_mode, attempts FROM deliveries WHERE maintenance_mode IS NOT NULL ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get("target"),
                r.get("status"),
                r.get("parent_id"),
                r.get("maintenance_mode"),
                r.get("attempts"),
            )
        })
        .collect()
}

fn on_ids() -> Vec<String> {
    ["d0", "d2", "d3", "d4"].map(String::from).to_vec()
}

#[tokio::test]
async fn desktops_go_into_maintenance_mode_at_the_start_and_only_those_come_out_at_the_end() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config(&window(3, "5s"));
    let daemon = env.spawn_daemon(&config).await;
    let on = wait_for(10, || async { env.fake.in_maintenance_mode().len() == 5 }).await;
    assert!(on, "{:?}\n{}", env.fake.mode_switches(), daemon.logs());
    let off = wait_for(15, || async {
        env.fake.mode_switches().len() == 2 && switches(&env).await.iter().all(|s| s.1 == "sent")
    })
    .await;
    let history = env
        .run(&["history", "--json", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(off, "{:?}", env.fake.mode_switches());
    let mut calls = env.fake.mode_switches();
    for call in &mut calls {
        call.1.sort();
    }
    assert_eq!(calls, [(true, on_ids()), (false, on_ids())]);
    // d1 was in maintenance mode before the window: it still is.
    assert_eq!(env.fake.in_maintenance_mode(), ["d1"]);
    let rows = switches(&env).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].3.as_str()),
        ("mode-on:0", "on")
    );
    assert_eq!(rows[1].3, "off");
    assert!(
        rows[1].0.starts_with("mode-off:") && rows[1].2.is_some(),
        "{rows:?}"
    );
    // Recorded like deliveries: history shows both switches.
    let all: serde_json::Value = serde_json::from_str(&stdout(&history)).unwrap();
    let targets: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["pool_id"].as_str())
        .filter(|t| t.starts_with("mode-"))
        .collect();
    assert_eq!(targets.len(), 2, "{all:#}");
}

#[tokio::test]
async fn the_switch_off_happens_after_a_kill_inside_the_window_at_the_next_start() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config(&window(2, "6s"));
    let mut daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(10, || async {
            switches(&env).await.first().is_some_and(|s| s.1 == "sent")
        })
        .await,
        "{}",
        daemon.logs()
    );
    daemon.child.kill().unwrap(); // SIGKILL inside the window
    daemon.child.wait().unwrap();
    assert_eq!(env.fake.in_maintenance_mode().len(), 5);
    // Back after the end (and after the window's misfire grace would have mattered).
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    let daemon = env.spawn_daemon(&config).await;
    let off = wait_for(10, || async { env.fake.in_maintenance_mode() == ["d1"] }).await;
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(off, "{:?}", env.fake.mode_switches());
    let rows = switches(&env).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1].1, "sent");
}

#[tokio::test]
async fn cancelling_a_window_under_way_switches_its_desktops_off_at_once_and_once() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config(&window(2, "10m"));
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(10, || async {
            switches(&env).await.first().is_some_and(|s| s.1 == "sent")
        })
        .await
    );
    let out = env
        .run(&[
            "maintenance",
            "cancel",
            "patch",
            "--config",
            config.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("maintenance mode switched off for 4 desktop(s) in 1 request(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.fake.in_maintenance_mode(), ["d1"]);
    // The daemon sees the cancellation too, and writes no second switch-off.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(daemon.stop(5).await, Some(0));
    let offs = env.fake.mode_switches().iter().filter(|s| !s.0).count();
    assert_eq!(offs, 1, "{:?}", env.fake.mode_switches());
}

#[tokio::test]
async fn dry_run_records_the_switches_without_calling() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config(&window(2, "3s"));
    let options = DaemonOptions::default().env("WORKSPACE_NOTIFIER__DAEMON__DRY_RUN", "true");
    let daemon = env.spawn_daemon_with(&config, &options).started().await;
    let done = wait_for(15, || async {
        let rows = switches(&env).await;
        rows.len() == 2 && rows.iter().all(|s| s.1 == "dry_run")
    })
    .await;
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(done, "{:?}", switches(&env).await);
    assert!(env.fake.mode_switches().is_empty());
    assert_eq!(env.fake.in_maintenance_mode(), ["d1"]);
}

#[tokio::test]
async fn maintenance_add_takes_maintenance_mode_and_list_shows_it() {
    let env = TestEnv::new().await;
    let config = env.write_config("[jobs]\nenabled = false\n");
    let c = config.to_str().unwrap();
    let start = (Utc::now() + TimeDelta::hours(3)).to_rfc3339();
    let args = [
        "maintenance",
        "add",
        "--config",
        c,
        "--id",
        "db-window",
        "--start",
        &start,
        "--duration",
        "1h",
        "--notify-before",
        "15m",
        "--pool",
        "pool-m",
        "--message",
        "Restart at {start}.",
        "--maintenance-mode",
    ];
    let out = env.run(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("desktops in maintenance mode from start to end"),
        "{}",
        stdout(&out)
    );
    let list = env
        .run(&["maintenance", "list", "--json", "--config", c])
        .await;
    let windows: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(windows[0]["id"], "db-window");
    assert_eq!(windows[0]["maintenance_mode"], true);
    // Off by default.
    let plain = env
        .run(&[
            "maintenance",
            "add",
            "--config",
            c,
            "--id",
            "plain",
            "--start",
            &start,
            "--duration",
            "1h",
            "--notify-before",
            "15m",
            "--pool",
            "pool-m",
            "--message",
            "m",
        ])
        .await;
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    let list = env
        .run(&["maintenance", "list", "--json", "--config", c])
        .await;
    let windows: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(windows[1]["id"], "plain");
    assert_eq!(windows[1]["maintenance_mode"], false);
}

#[tokio::test]
async fn a_paused_window_switches_nothing_on() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config(&window(4, "4s"));
    let c = config.to_str().unwrap();
    let paused = env
        .run(&["schedule", "pause", "patch", "--config", c])
        .await;
    assert_eq!(paused.status.code(), Some(0), "{}", stderr(&paused));
    let daemon = env.spawn_daemon(&config).await;
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(
        env.fake.mode_switches().is_empty(),
        "{:?}",
        env.fake.mode_switches()
    );
    assert!(switches(&env).await.is_empty());
}
