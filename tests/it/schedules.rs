//! `schedule` commands against a running daemon.

use std::time::Duration;

use crate::helpers::*;

fn count_for(env: &TestEnv, pool: &str) -> usize {
    env.fake
        .received()
        .iter()
        .filter(|r| r.path.contains(pool))
        .count()
}

#[tokio::test]
async fn schedules_added_paused_and_removed_from_the_cli_apply_to_a_running_daemon() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let c = config.to_str().unwrap();
    let daemon = env.spawn_daemon(&config).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let added = env
        .run(&[
            "schedule",
            "add",
            "--config",
            c,
            "--id",
            "cli-tick",
            "--cron",
            "* * * * * *",
            "--pool",
            "pool-cli",
            "--message",
            "from the CLI",
        ])
        .await;
    assert_eq!(added.status.code(), Some(0), "{}", stderr(&added));
    assert!(
        wait_for(3, || async { count_for(&env, "pool-cli") >= 1 }).await,
        "fired within 2 s + its period\n{}",
        daemon.logs()
    );

    let list = env
        .run(&["schedule", "list", "--config", c, "--json"])
        .await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(
        (
            rows[0]["id"].as_str(),
            rows[0]["source"].as_str(),
            rows[0]["state"].as_str()
        ),
        (Some("cli-tick"), Some("database"), Some("active"))
    );

    let paused = env
        .run(&["schedule", "pause", "--config", c, "cli-tick"])
        .await;
    assert_eq!(paused.status.code(), Some(0), "{}", stderr(&paused));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after_pause = count_for(&env, "pool-cli");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        count_for(&env, "pool-cli"),
        after_pause,
        "a paused schedule does not fire"
    );

    let resumed = env
        .run(&["schedule", "resume", "--config", c, "cli-tick"])
        .await;
    assert_eq!(resumed.status.code(), Some(0));
    assert!(
        wait_for(3, || async { count_for(&env, "pool-cli") > after_pause }).await,
        "resumed"
    );

    let removed = env
        .run(&["schedule", "remove", "--config", c, "cli-tick"])
        .await;
    assert_eq!(removed.status.code(), Some(0));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after_remove = count_for(&env, "pool-cli");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        count_for(&env, "pool-cli"),
        after_remove,
        "a removed schedule does not fire"
    );
    assert_eq!(daemon.stop(5).await, Some(0));

    let history = env
        .run(&["history", "--config", c, "--schedule", "cli-tick", "--json"])
        .await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(
        rows.len(),
        after_remove,
        "removing keeps the history: {rows:#?}\n{}",
        std::fs::read_to_string(env.path("daemon.log")).unwrap()
    );
}

#[tokio::test]
async fn invalid_schedule_add_inputs_are_named_and_exit_78() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml("from-file", "every = \"1h\"", &[POOL], ""));
    let c = config.to_str().unwrap();
    let base = |extra: &[&'static str]| {
        let mut args = vec!["schedule", "add", "--config", c];
        args.extend_from_slice(extra);
        args
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            base(&[
                "--id",
                "bad id",
                "--every",
                "1h",
                "--pool",
                "p",
                "--message",
                "m",
            ]),
            "--id: must be 1 to 64 characters",
        ),
        (
            base(&[
                "--id",
                "x",
                "--cron",
                "61 * * * *",
                "--pool",
                "p",
                "--message",
                "m",
            ]),
            "--cron: invalid cron expression \"61 * * * *\"",
        ),
        (
            base(&[
                "--id",
                "x",
                "--cron",
                "* * * * *",
                "--every",
                "1h",
                "--pool",
                "p",
                "--message",
                "m",
            ]),
            "exactly one of cron, at, every; got cron, every",
        ),
        (
            base(&["--id", "x", "--pool", "p", "--message", "m"]),
            "exactly one of cron, at, every; got none",
        ),
        (
            base(&[
                "--id",
                "x",
                "--every",
                "1h",
                "--timezone",
                "Asia/Shangai",
                "--pool",
                "p",
                "--message",
                "m",
            ]),
            "--timezone: unknown time zone \"Asia/Shangai\"",
        ),
        (
            base(&["--id", "x", "--every", "1h", "--message", "m"]),
            "--pool: must list at least one pool id",
        ),
        (
            base(&[
                "--id",
                "x",
                "--every",
                "1h",
                "--pool",
                "p",
                "--message",
                " ",
            ]),
            "--message: must not be empty",
        ),
        (
            base(&[
                "--id",
                "x",
                "--every",
                "soon",
                "--pool",
                "p",
                "--message",
                "m",
            ]),
            "--every: invalid duration \"soon\"",
        ),
        (
            base(&[
                "--id",
                "x",
                "--at",
                "tomorrow",
                "--pool",
                "p",
                "--message",
                "m",
            ]),
            "--at: invalid time \"tomorrow\"",
        ),
        (
            base(&[
                "--id",
                "x",
                "--every",
                "1h",
                "--misfire-grace",
                "-5m",
                "--pool",
                "p",
                "--message",
                "m",
            ]),
            "--misfire-grace: invalid duration",
        ),
        (
            base(&[
                "--id",
                "from-file",
                "--every",
                "1h",
                "--pool",
                "p",
                "--message",
                "m",
            ]),
            "--id: \"from-file\" is already used by a schedule in the config file",
        ),
    ];
    let missing_id = base(&["--every", "1h", "--pool", "p", "--message", "m"]);
    let missing_message = base(&["--id", "x", "--every", "1h", "--pool", "p"]);
    let cases: Vec<(Vec<&str>, &str)> = cases
        .into_iter()
        .chain([
            (missing_id, "--id: must be 1 to 64 characters"),
            (missing_message, "--message: must not be empty"),
        ])
        .collect();
    for (args, expected) in cases {
        let out = env.run(&args).await;
        assert_eq!(out.status.code(), Some(78), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: expected {expected:?} in {}",
            stderr(&out)
        );
    }
    let add = base(&[
        "--id",
        "dup",
        "--every",
        "1h",
        "--pool",
        "p",
        "--message",
        "m",
    ]);
    let ok = env.run(&add).await;
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let dup = env.run(&add).await;
    assert_eq!(dup.status.code(), Some(78));
    assert!(stderr(&dup).contains("already exists"), "{}", stderr(&dup));
    // A file schedule is paused in the database (the file stays its definition).
    let file_pause = env
        .run(&[
            "schedule",
            "pause",
            "--config",
            c,
            "from-file",
            "--note",
            "release day",
        ])
        .await;
    assert_eq!(file_pause.status.code(), Some(0), "{}", stderr(&file_pause));
    assert_eq!(
        stdout(&file_pause).trim(),
        "paused from-file until resumed: release day"
    );
    let unknown = env
        .run(&["schedule", "pause", "--config", c, "no-such"])
        .await;
    assert_eq!(unknown.status.code(), Some(1));
    let resumed = env
        .run(&["schedule", "resume", "--config", c, "from-file"])
        .await;
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let again = env
        .run(&["schedule", "resume", "--config", c, "from-file"])
        .await;
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("is not paused"),
        "{}",
        stderr(&again)
    );
}

/// `schedule list` is a table whose columns line up whatever the ids' lengths: each row's
/// SOURCE cell starts where the header's does.
#[tokio::test]
async fn schedule_list_columns_line_up() {
    let env = TestEnv::new().await;
    let long = "a-schedule-id-that-is-much-longer-than-twenty-four";
    let config = env.write_config(&format!(
        "{}{}",
        schedule_toml("x", "cron = \"0 0 9 * * *\"", &[POOL, "pool-b"], ""),
        schedule_toml(long, "every = \"1h\"", &[POOL], ""),
    ));
    env.create_database(&config).await;
    let out = env
        .run(&["schedule", "list", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().take(3).collect();
    let column = lines[0].find("SOURCE").unwrap();
    assert!(column > long.len(), "{text}");
    for line in &lines[1..] {
        assert_eq!(line.find(" file ").map(|at| at + 1), Some(column), "{text}");
    }
    assert!(lines[0].ends_with("TARGETS"), "{text}");
}
