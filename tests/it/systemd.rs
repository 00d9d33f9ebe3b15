//! The systemd notification protocol (READY, WATCHDOG, RELOADING, STOPPING), heard on a real
//! notify socket, and the unit's reload command.

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
