//! Audiences from the command line: bad selectors refused naming the key and value (exit 78),
//! `send` with selectors, `audience ID`, stored schedules with selectors, dry run with and
//! without credentials, and a maintenance window whose warnings go to a selection.

use chrono::{TimeDelta, Utc};

use crate::audience::estate;
use crate::audience_daemon::{audience_rows, ended, one_shot};
use crate::helpers::*;

#[tokio::test]
async fn malformed_selectors_are_refused_naming_the_key_and_the_value() {
    let env = TestEnv::new().await;
    let cases = [
        (
            "tags = [\"dept\"]",
            "schedules[0].tags",
            "\"dept\" is not KEY=VALUE",
        ),
        ("tags = [\"=x\"]", "schedules[0].tags", "empty key"),
        (
            &format!("tags = [\"k={}\"]", "v".repeat(44)),
            "schedules[0].tags",
            "43 characters",
        ),
        (
            "all_desktops = true\ntags = [\"a=b\"]",
            "schedules[0].all_desktops",
            "stands alone",
        ),
        ("audience = \"some\"", "schedules[0].audience", "\"some\""),
        ("max_audience = 0", "schedules[0].max_audience", "got 0"),
        ("users = [\"a,b\"]", "schedules[0].users", "commas"),
    ];
    for (keys, key, problem) in cases {
        let config = env.write_config(&schedule_toml("s", "cron = \"0 0 9 * * *\"", &[], keys));
        let out = env
            .run(&["check", "--config", config.to_str().unwrap()])
            .await;
        assert_eq!(out.status.code(), Some(78), "{keys}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.lines().any(|l| l.contains(key) && l.contains(problem)),
            "{keys}: {err}"
        );
    }
    // With no pool, no desktop and no selector, the schedule has nobody to reach.
    let config = env.write_config(&schedule_toml("s", "cron = \"0 0 9 * * *\"", &[], ""));
    let out = env
        .run(&["check", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(78));
    assert!(stderr(&out).contains("tags, enterprise_project, users, all_desktops"));
    // The section's keys too.
    let config = env.write_config("[targets]\nresolve_ahead = \"2h\"\nmax_audience = 0\n");
    let out = env
        .run(&["check", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(78));
    let err = stderr(&out);
    assert!(
        err.contains("targets.resolve_ahead") && err.contains("targets.max_audience"),
        "{err}"
    );
    // The same rules for flags.
    let config = env.write_config("");
    let c2 = config.to_str().unwrap();
    let out = env
        .run(&["send", "--config", c2, "--tag", "dept", "--message", "x"])
        .await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("--tag"), "{}", stderr(&out));
    let out = env
        .run(&[
            "schedule",
            "add",
            "--config",
            c2,
            "--id",
            "x",
            "--cron",
            "0 9 * * *",
            "--all-desktops",
            "--user",
            "alice",
            "--message",
            "x",
        ])
        .await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("--all-desktops"), "{}", stderr(&out));
}

#[tokio::test]
async fn send_lists_its_audience_and_reports_each_batch() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config("[jobs]\nenabled = false\ndesktop_batch = 2\n");
    let c = config.to_str().unwrap();
    let out = env
        .run(&[
            "send",
            "--config",
            c,
            "--user",
            "user1",
            "--user",
            "user22",
            "--user",
            "user300",
            "--message",
            "hello",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "two batches of 2 and 1: {text}");
    let mut sent = desktop_sends(&env).concat();
    sent.sort();
    assert_eq!(sent, ["d0001", "d0022", "d0300"]);
    let rows = audience_rows(&env).await;
    assert!(
        rows.iter()
            .all(|r| r.2.as_deref() == Some("users=user1,user22,user300"))
    );
    assert_eq!(rows.iter().map(|r| r.4.unwrap()).sum::<i64>(), 3);
    // The guard refuses, records and exits 1.
    let out = env
        .run(&[
            "send",
            "--config",
            c,
            "--all-desktops",
            "--max-audience",
            "10",
            "--message",
            "all",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("audience 2500 > max_audience 10"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        desktop_sends(&env).concat().len(),
        3,
        "nothing more was sent"
    );
}

#[tokio::test]
async fn the_audience_command_shows_who_would_get_it_and_sends_nothing() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config(&schedule_toml(
        "ep",
        "cron = \"0 0 9 * * *\"",
        &["pool-a"],
        "enterprise_project = \"ep-1\"\n",
    ));
    let c = config.to_str().unwrap();
    let out = env.run(&["audience", "ep", "--config", c]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // ep-1: every 5th (500); of those, every 4th is in pool-a too (125): reached by the pool.
    assert!(
        text.contains("500 matched, 375 would get it, 125 left out"),
        "{text}"
    );
    assert!(text.contains("via its pool"), "{text}");
    let out = env.run(&["audience", "ep", "--config", c, "--json"]).await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["matched"], 500);
    assert_eq!(doc["desktops"].as_array().unwrap().len(), 500);
    let d0005 = doc["desktops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["desktop_id"] == "d0005")
        .unwrap();
    assert_eq!(d0005["users"], serde_json::json!(["user5"]));
    assert_eq!(d0005["receives"], true);
    assert!(env.fake.received().is_empty(), "sends nothing");
    // `check` does not call the API.
    let before = env.fake.desktop_requests().len();
    let out = env.run(&["check", "--config", c]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(env.fake.desktop_requests().len(), before);
    // A stored schedule keeps its selectors.
    let out = env
        .run(&[
            "schedule",
            "add",
            "--config",
            c,
            "--id",
            "stored",
            "--cron",
            "0 9 * * *",
            "--tag",
            "dept=finance",
            "--tag",
            "site=sz",
            "--audience",
            "connected",
            "--message",
            "x",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = env
        .run(&["audience", "stored", "--config", c, "--json"])
        .await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["selector"],
        "tags=dept=finance,site=sz;audience=connected"
    );
    assert_eq!(doc["matched"], 417);
    // In the estate every third desktop is connected, as is every site=sz one.
    assert_eq!(doc["targeted"], 417);
    assert!(
        doc["desktops"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["connect_status"] == "CONNECTED" && d["receives"] == true)
    );
}

#[tokio::test]
async fn dry_run_resolves_with_credentials_and_records_when_it_cannot() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config(&one_shot("users", 2, &[], "users = [\"user7\"]"));
    // `[daemon] dry_run = true`, credentials still configured: listed, recorded, not sent.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "shutdown_grace = \"2s\"",
        "shutdown_grace = \"2s\"\ndry_run = true",
    );
    std::fs::write(&config, text).unwrap();
    let daemon = env.spawn_daemon(&config).await;
    assert!(ended(&env, 1).await);
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(
        env.fake
            .received()
            .iter()
            .all(|r| !r.path.contains("notifications"))
    );
    let rows = audience_rows(&env).await;
    assert_eq!(rows[0].1, "dry_run");
    assert_eq!((rows[0].3, rows[0].4), (Some(1), Some(1)));
    // Without credentials the audience cannot be listed: recorded as such.
    let env = TestEnv::new().await;
    let dry = env.write_dry_run_config();
    let at = (Utc::now() + TimeDelta::seconds(2)).to_rfc3339();
    let mut text = std::fs::read_to_string(&dry).unwrap();
    text.push_str(&schedule_toml(
        "u",
        &format!("at = \"{at}\""),
        &[],
        "users = [\"u\"]",
    ));
    std::fs::write(&dry, text).unwrap();
    let daemon = env.spawn_daemon(&dry).await;
    assert!(ended(&env, 1).await);
    assert_eq!(daemon.stop(5).await, Some(0));
    let rows = audience_rows(&env).await;
    assert_eq!(rows[0].1, "failed");
    assert!(
        rows[0]
            .5
            .as_deref()
            .unwrap()
            .contains("dry run, and no client to list desktops with"),
        "{:?}",
        rows[0].5
    );
}

#[tokio::test]
async fn a_maintenance_windows_warnings_go_to_its_selection() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let start = (Utc::now() + TimeDelta::seconds(63)).to_rfc3339();
    let config = env.write_config(&format!(
        "[jobs]\nenabled = false\n\n[[maintenance_windows]]\nid = \"patch\"\nstart = \"{start}\"\nduration = \"1h\"\nnotify_before = [\"1m\"]\ntags = [\"dept=finance\", \"site=sz\"]\nenterprise_project = \"ep-1\"\nmessage = \"restart in {{time_left}}\"\n"
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(ended(&env, 1).await, "{:?}", audience_rows(&env).await);
    assert_eq!(daemon.stop(5).await, Some(0));
    let expected: Vec<String> = (0..2500)
        .filter(|i| i % 30 == 0)
        .map(|i| format!("d{i:04}"))
        .collect();
    let mut sent = desktop_sends(&env).concat();
    sent.sort();
    assert_eq!(sent, expected);
    let rows = audience_rows(&env).await;
    assert_eq!(
        rows[0].2.as_deref(),
        Some("tags=dept=finance,site=sz;enterprise_project=ep-1")
    );
    assert!(
        env.fake.received()[0]
            .notification_text()
            .starts_with("restart in")
    );
}
