//! `agenda`: what will go out, in time order, from the same schedule set the daemon runs: a
//! file schedule, a file window with a cancelled occurrence, a database window, a paused
//! database schedule; journalctl-style times; no daemon needed.

use chrono::{TimeDelta, Utc};

use crate::helpers::*;

#[tokio::test]
async fn the_agenda_lists_every_message_in_time_order_with_cancelled_and_paused_marked() {
    let env = TestEnv::new().await;
    let start = (Utc::now() + TimeDelta::hours(2)).to_rfc3339();
    let config = env.write_config(&format!(
        "{}[[maintenance_windows]]\nid = \"patch\"\nstart = \"{start}\"\nduration = \"1h\"\nnotify_before = [\"1h\", \"15m\"]\npools = [\"{POOL}\"]\nmessage = \"restart in {{time_left}}\"\nend_message = \"done\"\n",
        schedule_toml("tick", "cron = \"0 */30 * * * *\"", &[POOL], ""),
    ));
    let c = config.to_str().unwrap();
    let db_start = (Utc::now() + TimeDelta::hours(4)).to_rfc3339();
    let added = env
        .run(&[
            "maintenance",
            "add",
            "--config",
            c,
            "--id",
            "db-win",
            "--start",
            &db_start,
            "--duration",
            "30m",
            "--notify-before",
            "30m",
            "--pool",
            POOL,
            "--message",
            "db restart at {start}",
        ])
        .await;
    assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));
    let paused = env
        .run(&[
            "schedule",
            "add",
            "--config",
            c,
            "--id",
            "later",
            "--every",
            "2h",
            "--pool",
            POOL,
            "--message",
            "paused one",
            "--paused",
        ])
        .await;
    assert_eq!(paused.status.code(), Some(0), "{}", stderr(&paused));
    let cancel = env
        .run(&["maintenance", "cancel", "patch", "--config", c])
        .await;
    assert_eq!(cancel.status.code(), Some(0), "{}", stderr(&cancel));

    let out = env
        .run(&["agenda", "--until", "+6h", "--config", c, "--json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let items: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let items = items.as_array().unwrap();
    let of = |id: &str| -> Vec<&serde_json::Value> {
        items.iter().filter(|i| i["schedule_id"] == id).collect()
    };
    // Every 30 minutes for 6 hours.
    assert_eq!(of("tick").len(), 12, "{items:#?}");
    assert!(of("tick").iter().all(|i| i["state"] == "planned"));
    // The cancelled window: its two warnings and its end message, marked.
    let patch = of("patch");
    assert_eq!(patch.len(), 3, "{patch:#?}");
    assert!(
        patch.iter().all(|i| i["state"] == "cancelled"),
        "{patch:#?}"
    );
    assert_eq!(patch[0]["text"], "restart in 1 hour");
    assert_eq!(patch[1]["text"], "restart in 15 minutes");
    assert_eq!(patch[2]["text"], "done");
    // The database window's warning, rendered; the paused schedule, marked.
    let db = of("db-win");
    assert_eq!(db.len(), 1, "{db:#?}");
    assert_eq!(db[0]["state"], "planned");
    assert!(
        db[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("db restart at ")
    );
    assert!(of("later").len() >= 2, "{items:#?}");
    assert!(of("later").iter().all(|i| i["state"] == "paused"));
    // In time order.
    let times: Vec<&str> = items
        .iter()
        .map(|i| i["due_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);

    // The table: local times carry their offset; a cut window is said.
    let table = env
        .run(&["agenda", "--since", "-1h", "--until", "+6h", "--config", c])
        .await;
    let text = stdout(&table);
    assert!(text.contains("[cancelled] restart in 1 hour"), "{text}");
    assert!(text.contains("[paused] paused one"), "{text}");
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.contains(" +") || l.contains(" -")),
        "{text}"
    );
    // A time that is not one is a usage error naming it.
    let bad = env
        .run(&["agenda", "--since", "tuesday", "--config", c])
        .await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("\"tuesday\" is not a time"),
        "{}",
        stderr(&bad)
    );
    let backwards = env
        .run(&["agenda", "--since", "+2h", "--until", "+1h", "--config", c])
        .await;
    assert_eq!(backwards.status.code(), Some(78), "{}", stderr(&backwards));
}

#[tokio::test]
async fn history_takes_until_target_and_journalctl_times() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let c = config.to_str().unwrap();
    for pool in ["pool-a", "pool-b"] {
        let out = env
            .run(&["send", "--config", c, "--pool", pool, "--message", "hi"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let count = |out: &std::process::Output| -> usize {
        let rows: serde_json::Value = serde_json::from_str(&stdout(out)).unwrap();
        rows.as_array().unwrap().len()
    };
    let all = env
        .run(&[
            "history", "--since", "today", "--until", "+1h", "--config", c, "--json",
        ])
        .await;
    assert_eq!(count(&all), 2, "{}", stderr(&all));
    let one = env
        .run(&["history", "--target", "pool-b", "--config", c, "--json"])
        .await;
    assert_eq!(count(&one), 1);
    let none = env
        .run(&[
            "history", "--until", "-1h", "-n", "5", "--config", c, "--json",
        ])
        .await;
    assert_eq!(count(&none), 0);
    let limited = env
        .run(&["history", "-n", "1", "--config", c, "--json"])
        .await;
    assert_eq!(count(&limited), 1);
    // A cut list says so on stderr; the JSON stays whole.
    assert_eq!(
        stderr(&limited).trim(),
        "1 of 2 deliveries; use --limit (-n) for more"
    );
    // Not on a terminal, no pager runs (a pager that fails would lose the output).
    let piped = env
        .run_env(&["history", "--config", c], &[("PAGER", "sh -c 'exit 3'")])
        .await;
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    assert!(stdout(&piped).contains("pool-b"), "{}", stdout(&piped));
    let plain = env.run(&["history", "--no-pager", "--config", c]).await;
    assert_eq!(stdout(&plain), stdout(&piped));
}
