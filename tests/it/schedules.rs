//! `schedule` commands against a running daemon, and the systemd notification protocol.

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
    let daemon = env.spawn_daemon(&config);
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
    let file_pause = env
        .run(&["schedule", "pause", "--config", c, "from-file"])
        .await;
    assert_eq!(file_pause.status.code(), Some(78));
    assert!(
        stderr(&file_pause).contains("edit the file and reload"),
        "{}",
        stderr(&file_pause)
    );
}

#[tokio::test]
async fn systemd_hears_ready_watchdog_reload_and_stopping_in_order() {
    use std::os::unix::net::UnixDatagram;
    let env = TestEnv::new().await;
    let socket_path = env.path("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let config = env.write_config(&schedule_toml(
        "tick",
        "cron = \"* * * * * *\"",
        &[POOL],
        "",
    ));
    let child = std::process::Command::new(BIN)
        .args(["run", "--config", config.to_str().unwrap()])
        .current_dir(env.dir.path())
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Daemon {
        child,
        log: env.path("none.log"),
    };
    let mut messages: Vec<String> = Vec::new();
    let receive_for = |ms: u64, messages: &mut Vec<String>| {
        let until = std::time::Instant::now() + Duration::from_millis(ms);
        let mut buf = [0u8; 4096];
        while std::time::Instant::now() < until {
            if let Ok(n) = socket.recv(&mut buf) {
                messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    };
    receive_for(1500, &mut messages);
    daemon.signal("HUP");
    receive_for(700, &mut messages);
    daemon.signal("TERM");
    receive_for(700, &mut messages);
    let position = |needle: &str, from: usize| {
        messages
            .iter()
            .skip(from)
            .position(|m| m.contains(needle))
            .map(|p| p + from)
    };
    let ready = position("READY=1", 0).expect("READY=1");
    assert!(
        messages[ready].contains("STATUS=1 schedule, 0 maintenance windows; next: tick at"),
        "{:?}",
        messages[ready]
    );
    let ping = position("WATCHDOG=1", ready).expect("WATCHDOG=1 after READY");
    let reloading = position("RELOADING=1", ping).expect("RELOADING=1");
    assert!(
        messages[reloading].contains("MONOTONIC_USEC="),
        "{:?}",
        messages[reloading]
    );
    let ready_again = position("READY=1", reloading).expect("READY=1 after reload");
    position("STOPPING=1", ready_again).expect("STOPPING=1 last");
    assert!(
        messages.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 4,
        "pings every 200 ms: {messages:?}"
    );
}

#[tokio::test]
async fn completions_are_printed_for_each_shell() {
    let env = TestEnv::new().await;
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef workspace-notifier"),
        ("fish", "complete -c workspace-notifier"),
    ] {
        let out = env.run(&["completions", shell]).await;
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = stdout(&out);
        assert!(
            text.contains(marker) && text.contains("schedule"),
            "{shell}: {}",
            &text[..200.min(text.len())]
        );
    }
}

/// Runs `send` in dry run with stderr on a pipe, `JOURNAL_STREAM` set to `journal_stream(pipe)`.
fn stderr_with_journal_stream(
    env: &TestEnv,
    journal_stream: impl Fn(u64, u64) -> String,
) -> String {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let config = env.path("dry.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{}\"\ndry_run = true\n",
            env.db_path().display()
        ),
    )
    .unwrap();
    let (mut reader, writer) = std::io::pipe().unwrap();
    let meta = std::fs::File::from(writer.as_fd().try_clone_to_owned().unwrap())
        .metadata()
        .unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(send_args(&config, POOL, "hi"))
        .env("JOURNAL_STREAM", journal_stream(meta.dev(), meta.ino()))
        .stdout(std::process::Stdio::null())
        .stderr(writer)
        .spawn()
        .unwrap();
    child.wait().unwrap();
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn under_journald_lines_carry_a_syslog_priority_and_no_timestamp() {
    let env = TestEnv::new().await;
    let journal = stderr_with_journal_stream(&env, |dev, ino| format!("{dev}:{ino}"));
    assert!(journal.starts_with("<6> INFO"), "{journal}");
    assert!(
        journal.contains("schedule_id=manual") && journal.contains("pool_id="),
        "{journal}"
    );
    // JOURNAL_STREAM inherited from a parent whose stderr was the journal does not count.
    let elsewhere = stderr_with_journal_stream(&env, |dev, ino| format!("{dev}:{}", ino + 1));
    assert!(elsewhere.starts_with("20"), "timestamped: {elsewhere}");
    assert!(!elsewhere.contains("<6>"), "{elsewhere}");
}
