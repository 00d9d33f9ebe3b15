//! The systemd notification protocol (READY, WATCHDOG, RELOADING, STOPPING), heard on a real
//! notify socket, the unit's reload command, and root-run commands next to the service's
//! `DynamicUser=` state directory.

use std::time::Duration;

use crate::helpers::*;

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

#[test]
fn systemctl_reload_checks_the_file_before_signalling() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/workspace-notifier.service"
    ))
    .unwrap();
    let reloads: Vec<&str> = unit
        .lines()
        .filter(|l| l.starts_with("ExecReload="))
        .collect();
    assert_eq!(reloads.len(), 2, "{reloads:?}");
    assert!(reloads[0].contains("workspace-notifier check --config"));
    assert!(reloads[1].contains("kill -HUP $MAINPID"));
}

/// The service runs as a dynamic user that owns its state directory. An administrator's
/// `sudo workspace-notifier send …` (and a daemon started as root by hand) must leave every
/// file there owned by that user (database, WAL, shared memory, the instance registry), or
/// the service cannot write them after its next start.
#[tokio::test]
async fn commands_run_as_root_leave_the_state_directory_to_its_owner() {
    use std::os::unix::fs::MetadataExt;
    if unsafe_free_euid() != 0 {
        eprintln!("skipped: needs root to act for another owner");
        return;
    }
    const SERVICE: u32 = 61_234;
    let env = TestEnv::new().await;
    let state = env.path("state");
    std::fs::create_dir(&state).unwrap();
    std::os::unix::fs::chown(&state, Some(SERVICE), Some(SERVICE)).unwrap();
    let config = env.path("root.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{}\"\ndry_run = true\n",
            state.join("state.db").display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    // A writing command on the empty directory creates the database.
    let out = env.send(std::path::Path::new(config), "from root").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A daemon holds it open (WAL and shared memory exist) while another command writes.
    let daemon = env.spawn_daemon(std::path::Path::new(config)).await;
    assert!(wait_for(10, || async { state.join("state.db-shm").exists() }).await);
    let out = env
        .send(std::path::Path::new(config), "again from root")
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let mut seen = Vec::new();
    let mut stack = vec![state.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            assert_eq!(
                (meta.uid(), meta.gid()),
                (SERVICE, SERVICE),
                "{} is owned by {}:{}",
                path.display(),
                meta.uid(),
                meta.gid()
            );
            if meta.is_dir() {
                stack.push(path.clone());
            }
            seen.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    seen.sort();
    for name in [
        "state.db",
        "state.db-shm",
        "state.db-wal",
        "state.db.instances",
    ] {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} missing from {seen:?}"
        );
    }
    assert!(seen.iter().any(|s| s.ends_with(".lock")), "{seen:?}");
    daemon.stop(10).await;
}

/// The effective user id, read from /proc so the test needs no `unsafe`.
fn unsafe_free_euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn the_packaged_config_is_the_one_source_of_settings() {
    let root = env!("CARGO_MANIFEST_DIR");
    let unit =
        std::fs::read_to_string(format!("{root}/systemd/workspace-notifier.service")).unwrap();
    let overrides: Vec<&str> = unit
        .lines()
        .filter(|l| l.starts_with("Environment=") && l.contains("WORKSPACE_NOTIFIER__"))
        .collect();
    assert!(
        overrides.is_empty(),
        "the unit overrides the config file: {overrides:?}"
    );
    let packaged = std::fs::read_to_string(format!("{root}/config/packaged.toml")).unwrap();
    assert!(packaged.contains("database = \"/var/lib/workspace-notifier/state.db\""));
}

#[tokio::test]
async fn the_start_line_says_where_the_database_came_from() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let daemon = env.spawn_daemon(&config).await;
    let logs = daemon.logs();
    assert!(logs.contains("database_from"), "{logs}");
    assert!(
        logs.contains(&format!("daemon.database in {}", config.display())),
        "{logs}"
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    if !env.sqlite_only("the_start_line_says_where_the_database_came_from") {
        return;
    }
    let other = env.path("other.db");
    let options = DaemonOptions::log_to("overridden.log").env(
        "WORKSPACE_NOTIFIER__DAEMON__DATABASE",
        other.to_str().unwrap(),
    );
    let daemon = env.spawn_daemon_with(&config, &options).started().await;
    let logs = daemon.logs();
    assert!(
        logs.contains("$WORKSPACE_NOTIFIER__DAEMON__DATABASE, which overrides daemon.database"),
        "{logs}"
    );
    assert_eq!(daemon.stop(5).await, Some(0));
}

/// As root on a packaged host: the CLI finds the credentials the unit loads (the files next to
/// the config), so `check` and `send` work without a credentials section or variables.
#[tokio::test]
async fn commands_find_the_credentials_the_unit_loads_next_to_the_config() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let text = std::fs::read_to_string(&config).unwrap();
    let start = text.find("[workspace.credentials]").unwrap();
    let end = text.find("[retry]").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(&config, without).unwrap();
    let out = env
        .run(&["check", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = env.send(&config, "found the service's credentials").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let received = env.fake.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].auth_problem.is_none(),
        "{:?}",
        received[0].auth_problem
    );
    // Without them, the error lists that place among those tried.
    std::fs::remove_file(env.path("sk")).unwrap();
    std::fs::remove_file(env.path("ak")).unwrap();
    let out = env
        .run(&["check", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the service's credential files: ak, sk"),
        "{}",
        stderr(&out)
    );
}
