//! `maintenance show / uncancel / remove`, seen at once by `agenda` (the daemon's own plan).

use chrono::{TimeDelta, Timelike, Utc};

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

/// (due_at, status) of the deliveries recorded for `id`, in due order.
async fn rows_of(env: &TestEnv, id: &str) -> Vec<(String, String)> {
    use sqlx::Row;
    sqlx::query("SELECT due_at, status FROM deliveries WHERE schedule_id = $1 ORDER BY due_at")
        .bind(id)
        .fetch_all(&env.db().await)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("due_at"), r.get("status")))
        .collect()
}

#[tokio::test]
async fn a_postponed_window_warns_before_its_new_start_and_the_notice_names_it() {
    let env = TestEnv::new().await;
    let config = env.write_config("[jobs]\nenabled = false\n");
    let c = config.to_str().unwrap();
    let start = (Utc::now() + TimeDelta::seconds(30))
        .with_nanosecond(0)
        .unwrap();
    let add = env
        .run(&[
            "maintenance",
            "add",
            "--config",
            c,
            "--id",
            "moved",
            "--start",
            &start.to_rfc3339(),
            "--duration",
            "10s",
            "--notify-before",
            "20s",
            "--pool",
            POOL,
            "--message",
            "Maintenance at {start}",
        ])
        .await;
    assert_eq!(add.status.code(), Some(0), "{}", stderr(&add));
    let daemon = env.spawn_daemon(&config).await;
    let new_start = start + TimeDelta::seconds(20);
    let postpone = env
        .run(&[
            "maintenance",
            "postpone",
            "moved",
            "--by",
            "20s",
            "--notice",
            "Moved to {start} on {date}",
            "--json",
            "--config",
            c,
        ])
        .await;
    assert_eq!(postpone.status.code(), Some(0), "{}", stderr(&postpone));
    let out: serde_json::Value = serde_json::from_slice(&postpone.stdout).unwrap();
    assert_eq!(out["new_start"], shown(new_start));
    assert_eq!(out["notices"].as_array().unwrap().len(), 1, "{out}");
    let texts: Vec<String> = env
        .fake
        .received()
        .iter()
        .map(|r| r.notification_text())
        .collect();
    let expected = format!(
        "Moved to {} on {}",
        new_start.format("%H:%M"),
        new_start.format("%Y-%m-%d")
    );
    assert_eq!(texts, [expected]);
    // The agenda (the daemon's plan) has the warning 20 s before the new start.
    let agenda = env
        .run(&["agenda", "--until", "+1h", "--json", "--config", c])
        .await;
    let items: serde_json::Value = serde_json::from_slice(&agenda.stdout).unwrap();
    let due: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["schedule_id"] == "moved")
        .map(|i| i["due_at"].as_str().unwrap())
        .collect();
    assert_eq!(due, [shown(new_start - TimeDelta::seconds(20))]);

    // The old warning time passes in silence; the daemon sends the moved one.
    let warned = wait_for(45, || async {
        rows_of(&env, "moved")
            .await
            .iter()
            .filter(|r| r.1 == "sent")
            .count()
            == 2
    })
    .await;
    let rows = rows_of(&env, "moved").await;
    assert!(warned, "{rows:?}\n{}", daemon.logs());
    assert_eq!(rows[1].0, format_ms(new_start - TimeDelta::seconds(20)));
    assert_eq!(rows[1].1, "sent");
    let last = env.fake.received().last().unwrap().notification_text();
    assert_eq!(
        last,
        format!("Maintenance at {}", new_start.format("%H:%M"))
    );
    daemon.stop(10).await;
}

#[tokio::test]
async fn postpone_refuses_what_is_not_later_or_reaches_the_next_occurrence() {
    let env = TestEnv::new().await;
    let config = env.write_config(&format!(
        "[[maintenance_windows]]\nid = \"nightly\"\ncron = \"0 0 3 * * *\"\ntimezone = \"UTC\"\nduration = \"1h\"\nnotify_before = [\"15m\"]\npools = [\"{POOL}\"]\nmessage = \"m\"\n"
    ));
    let c = config.to_str().unwrap();
    let postpone = |args: &'static [&'static str]| {
        let mut all = vec!["maintenance", "postpone", "nightly", "--config", c];
        all.extend_from_slice(args);
        let env = &env;
        async move { env.run(&all).await }
    };
    let early = postpone(&["--to", "2000-01-01T00:00:00Z"]).await;
    assert_eq!(early.status.code(), Some(78));
    assert!(stderr(&early).contains("--to"), "{}", stderr(&early));
    let far = postpone(&["--by", "25h"]).await;
    assert_eq!(far.status.code(), Some(78));
    assert!(
        stderr(&far).contains("--by") && stderr(&far).contains("following occurrence"),
        "{}",
        stderr(&far)
    );
    let bad = postpone(&["--by", "1h", "--notice", "at {nope}"]).await;
    assert_eq!(bad.status.code(), Some(78));
    assert!(stderr(&bad).contains("--notice"), "{}", stderr(&bad));
    // A file window is postponed too (the move is state in the database), and again.
    assert_eq!(postpone(&["--by", "1h"]).await.status.code(), Some(0));
    assert_eq!(postpone(&["--by", "30m"]).await.status.code(), Some(0));
    let show = env
        .run(&["maintenance", "show", "nightly", "--json", "--config", c])
        .await;
    let window: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let starts = window["starts"].as_str().unwrap();
    assert!(starts.contains("postponed: "), "{starts}");
    assert!(starts.contains("T04:30:00+00:00"), "{starts}");
    // A cancelled next occurrence is not postponed.
    let cancel = env
        .run(&["maintenance", "cancel", "nightly", "--config", c])
        .await;
    assert_eq!(cancel.status.code(), Some(0), "{}", stderr(&cancel));
    let cancelled = postpone(&["--by", "1h"]).await;
    assert_eq!(cancelled.status.code(), Some(1));
    assert!(
        stderr(&cancelled).contains("uncancel"),
        "{}",
        stderr(&cancelled)
    );
}

/// As stored (milliseconds).
fn format_ms(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// As `--json` shows it.
fn shown(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
