//! `maintenance show / uncancel / remove`, seen at once by `agenda` (the daemon's own plan).

use chrono::{TimeDelta, Utc};

use crate::helpers::*;

#[tokio::test]
async fn a_window_is_shown_cancelled_uncancelled_and_removed() {
    let env = TestEnv::new().await;
    let config = env.write_config(&format!(
        "[[maintenance_windows]]\nid = \"from-file\"\nstart = \"{}\"\nduration = \"1h\"\nnotify_before = [\"15m\"]\npools = [\"{POOL}\"]\nmessage = \"m\"\n",
        (Utc::now() + TimeDelta::hours(5)).to_rfc3339()
    ));
    let c = config.to_str().unwrap();
    let start = (Utc::now() + TimeDelta::hours(2)).to_rfc3339();
    let add = env
        .run(&[
            "maintenance",
            "add",
            "--config",
            c,
            "--id",
            "db-win",
            "--start",
            &start,
            "--duration",
            "30m",
            "--notify-before",
            "1h",
            "--notify-before",
            "10m",
            "--pool",
            POOL,
            "--message",
            "restart in {time_left}",
        ])
        .await;
    assert_eq!(add.status.code(), Some(0), "{}", stderr(&add));
    let show = env
        .run(&["maintenance", "show", "db-win", "--config", c])
        .await;
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert!(
        stdout(&show).contains("restart in 1 hour"),
        "{}",
        stdout(&show)
    );
    let json = env
        .run(&["maintenance", "show", "db-win", "--json", "--config", c])
        .await;
    let window: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(window["id"], "db-win");
    assert_eq!(
        agenda_states(&env, c, "+4h", "db-win").await,
        ["planned", "planned"]
    );

    let cancel = env
        .run(&["maintenance", "cancel", "db-win", "--config", c])
        .await;
    assert_eq!(cancel.status.code(), Some(0), "{}", stderr(&cancel));
    assert_eq!(
        agenda_states(&env, c, "+4h", "db-win").await,
        ["cancelled", "cancelled"]
    );
    let show = env
        .run(&["maintenance", "show", "db-win", "--config", c])
        .await;
    assert!(
        stdout(&show).contains("cancelled occurrences: "),
        "{}",
        stdout(&show)
    );

    let uncancel = env
        .run(&["maintenance", "uncancel", "db-win", "--config", c])
        .await;
    assert_eq!(uncancel.status.code(), Some(0), "{}", stderr(&uncancel));
    assert_eq!(
        agenda_states(&env, c, "+4h", "db-win").await,
        ["planned", "planned"]
    );
    let again = env
        .run(&["maintenance", "uncancel", "db-win", "--config", c])
        .await;
    assert_eq!(again.status.code(), Some(1));

    let file = env
        .run(&["maintenance", "remove", "from-file", "--config", c])
        .await;
    assert_eq!(file.status.code(), Some(78));
    assert!(stderr(&file).contains("edit the file"), "{}", stderr(&file));
    let remove = env
        .run(&["maintenance", "remove", "db-win", "--config", c])
        .await;
    assert_eq!(remove.status.code(), Some(0), "{}", stderr(&remove));
    assert!(agenda_states(&env, c, "+4h", "db-win").await.is_empty());
    let gone = env
        .run(&["maintenance", "show", "db-win", "--config", c])
        .await;
    assert_eq!(gone.status.code(), Some(1));
}
