//! `send --test ID --desktop D`: a schedule's or window's next message, rendered as it will
//! be, sent now to one desktop and recorded as `test:ID`, not as the schedule's last run.

use chrono::{TimeDelta, Utc};

use crate::helpers::*;

#[tokio::test]
async fn a_test_send_renders_the_next_message_and_records_it_apart() {
    let env = TestEnv::new().await;
    let start = (Utc::now() + TimeDelta::hours(2)).to_rfc3339();
    let config = env.write_config(&format!(
        "[jobs]\nenabled = false\n\n[[maintenance_windows]]\nid = \"patch\"\nstart = \"{start}\"\nduration = \"1h\"\nnotify_before = [\"1h\", \"15m\"]\npools = [\"{POOL}\"]\nmessage = \"restart in {{time_left}}\"\n"
    ));
    let c = config.to_str().unwrap();
    let out = env
        .run(&[
            "send",
            "--test",
            "patch",
            "--desktop",
            "d-1",
            "--config",
            c,
            "--json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["schedule_id"], "test:patch");
    assert_eq!(rows[0]["status"], "sent");
    let sent = env.fake.received();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].path.ends_with("/desktops/notifications"));
    assert_eq!(sent[0].notification_text(), "restart in 1 hour");
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["desktop_ids"], serde_json::json!(["d-1"]));
    // Not the window's last run.
    let status = env.run(&["status", "--json", "--config", c]).await;
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let patch = doc["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "patch")
        .unwrap();
    assert!(patch["last"].is_null(), "{doc:#}");
    // What does not exist, or is reserved, is refused.
    let unknown = env
        .run(&["send", "--test", "nope", "--desktop", "d-1", "--config", c])
        .await;
    assert_eq!(unknown.status.code(), Some(1));
    let without = env.run(&["send", "--test", "patch", "--config", c]).await;
    assert_eq!(without.status.code(), Some(2));
    let reserved = env.write_config(&schedule_toml("test:x", "every = \"1h\"", &[POOL], ""));
    let check = env
        .run(&["check", "--config", reserved.to_str().unwrap()])
        .await;
    assert_eq!(check.status.code(), Some(78));
    assert!(stderr(&check).contains("send --test"), "{}", stderr(&check));
}
