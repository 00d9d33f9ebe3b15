//! `status`: one row per schedule and window, columns sized to their content, failing ones
//! first, and the same fields as JSON.

use crate::fake::Reply;
use crate::helpers::*;

#[tokio::test]
async fn status_lists_next_and_last_with_failing_schedules_first() {
    let env = TestEnv::new().await;
    let long_id = "a-rather-long-schedule-id-that-broke-fixed-columns";
    let at = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    // The first request (whichever schedule it is for) fails for good.
    env.fake.script([Reply::error(403, "WKS.0403")]);
    let schedules = format!(
        "{}{}{}",
        schedule_toml(long_id, &format!("at = \"{at}\""), &["p-1"], ""),
        schedule_toml("later", "cron = \"0 0 3 * * *\"", &["p-2"], ""),
        schedule_toml("fine", &format!("at = \"{at}\""), &["p-3"], ""),
    );
    let config = env.write_config(&schedules);
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    let fired = wait_for(10, || async {
        count_status(&db, "sent").await + count_status(&db, "failed").await == 2
    })
    .await;
    assert!(fired, "{}", daemon.logs());
    assert_eq!(daemon.stop(10).await, Some(0));
    let c = config.to_str().unwrap();
    let out = env.run(&["status", "--config", c]).await;
    // Something is failing: exit 1, like `systemctl is-failed`, and nothing on stderr.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    // First whether the service runs, then the table.
    assert!(text.starts_with("service: not running"), "{text}");
    let lines: Vec<&str> = text.lines().skip(2).take_while(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    // Columns line up whatever the id's length.
    let next_at = lines[0].find("NEXT").unwrap();
    for line in &lines[1..] {
        assert_eq!(line.chars().nth(next_at - 1), Some(' '), "{text}");
        assert_ne!(line.chars().nth(next_at), Some(' '), "{text}");
    }
    assert!(
        lines[1].contains("failed (HTTP 403 WKS.0403)"),
        "failing first: {text}"
    );
    assert!(text.contains("ago"), "{text}");
    assert!(
        text.contains("3 schedules, 0 maintenance windows; 1 failing:"),
        "{text}"
    );
    // `history` sizes its columns the same way.
    let history = stdout(&env.run(&["history", "--config", c]).await);
    let hlines: Vec<&str> = history.lines().collect();
    let status_at = hlines[0].find("STATUS").unwrap();
    for line in &hlines[1..] {
        assert_eq!(line.chars().nth(status_at - 1), Some(' '), "{history}");
        assert_ne!(line.chars().nth(status_at), Some(' '), "{history}");
    }
    let out = env.run(&["status", "--json", "--config", c]).await;
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["failing"], 1);
    let later = doc["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "later")
        .unwrap();
    assert!(later["left_seconds"].as_i64().unwrap() > 0);
    assert!(later["last"].is_null());
    assert!(later["next"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn status_exits_0_when_nothing_is_failing_and_says_whether_the_service_runs() {
    let env = TestEnv::new().await;
    let at = (chrono::Utc::now() + chrono::TimeDelta::seconds(1)).to_rfc3339();
    let config = env.write_config(&schedule_toml(
        "ok",
        &format!("at = \"{at}\""),
        &["p-1"],
        "",
    ));
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    assert!(wait_for(10, || async { count_status(&db, "sent").await == 1 }).await);
    // While it runs, status says so, with its pid (the service, not a command).
    let c = config.to_str().unwrap();
    let running = env.run(&["status", "--config", c]).await;
    let pid = daemon.child.id();
    assert!(
        stdout(&running).contains(&format!("service: running (pid {pid} on ")),
        "{}",
        stdout(&running)
    );
    let json = env.run(&["status", "--json", "--config", c]).await;
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["service"]["running"], true);
    assert_eq!(doc["service"]["daemons"][0]["pid"], i64::from(pid));
    assert_eq!(daemon.stop(10).await, Some(0));
    let out = env.run(&["status", "--config", c]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("none failing"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("service: not running"),
        "{}",
        stdout(&out)
    );
    let json = env.run(&["status", "--json", "--config", c]).await;
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["service"]["running"], false);
}
