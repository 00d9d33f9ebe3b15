//! Faults that once left the daemon running and silent: each ends in a recorded state, a
//! clear error, or an exit that systemd restarts. Every test runs the real binary.

use std::time::Duration;

use crate::fake::Reply;
use crate::helpers::*;

fn pools(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("pool-{i:02}")).collect()
}

fn every_second(id: &str, pools: &[String], extra: &str) -> String {
    let pools: Vec<&str> = pools.iter().map(String::as_str).collect();
    schedule_toml(id, "every = \"1s\"", &pools, extra)
}

#[tokio::test]
async fn a_panic_in_an_engine_task_ends_the_process_with_a_failure_code() {
    let env = TestEnv::new().await;
    let config = env.write_config(&every_second("tick", &pools(1), ""));
    let options = DaemonOptions::default().env("WORKSPACE_NOTIFIER_FAULT_PANIC", "delivery");
    let mut daemon = env.spawn_daemon_with(&config, &options);
    let code = daemon.wait_exit(20).await;
    let logs = daemon.logs();
    assert_eq!(code, Some(70), "{logs}");
    assert!(
        logs.contains("ERROR") && logs.contains("internal error (panic)"),
        "{logs}"
    );
    assert!(logs.contains("injected fault: panic at delivery"), "{logs}");
}

#[tokio::test]
async fn a_full_disk_pauses_claims_and_they_resume_by_themselves() {
    let env = TestEnv::new().await;
    if !env.sqlite_only("a_full_disk_pauses_claims_and_they_resume_by_themselves") {
        return;
    }
    let config = env.write_config(&every_second("busy", &pools(30), ""));
    let limit = env.path("max-pages");
    let options = DaemonOptions::default().env(
        "WORKSPACE_NOTIFIER_FAULT_MAX_PAGES_FILE",
        limit.to_str().unwrap(),
    );
    let daemon = env.spawn_daemon_with(&config, &options);
    let db = env.db().await;
    assert!(wait_for(20, || async { count_status(&db, "sent").await >= 60 }).await);
    // No more pages: SQLite answers "database or disk is full" to every write.
    std::fs::write(&limit, "1").unwrap();
    let full = wait_for(30, || async {
        daemon.logs().contains("database or disk is full")
    })
    .await;
    assert!(full, "{}", daemon.logs());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = count_status(&db, "sent").await;
    std::fs::remove_file(&limit).unwrap();
    let resumed = wait_for(10, || async {
        count_status(&db, "sent").await >= during + 60
    })
    .await;
    let logs = daemon.logs();
    assert!(resumed, "claims did not resume:\n{logs}");
    assert!(!logs.contains("non-zero transaction depth"), "{logs}");
    assert_eq!(daemon.stop(10).await, Some(0));
    // The seconds that could not be claimed are accounted for by the misfire rules: users
    // got the newer message, so they are coalesced (not missed, which alerts).
    let missed: Vec<DeliveryRecord> = deliveries(&db)
        .await
        .into_iter()
        .filter(|r| r.status == "coalesced")
        .collect();
    assert!(
        !missed.is_empty(),
        "no coalesced rows for the full-disk gap"
    );
    assert_eq!(count_status(&db, "missed").await, 0);
    assert!(
        missed.iter().all(|r| r
            .error_msg
            .as_deref()
            .unwrap_or("")
            .contains("coalesced into the one sent")),
        "{missed:#?}"
    );
    assert_eq!(count_status(&db, "pending").await, 0);
}

#[tokio::test]
async fn a_deleted_database_stops_the_daemon_with_an_error_naming_it() {
    let env = TestEnv::new().await;
    if !env.sqlite_only("a_deleted_database_stops_the_daemon_with_an_error_naming_it") {
        return;
    }
    let config = env.write_config(&every_second("tick", &pools(1), ""));
    let mut daemon = env.spawn_daemon(&config).await;
    assert!(wait_for(10, || async { daemon.logs().contains("started") }).await);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", env.db_path().display()));
    }
    let code = daemon.wait_exit(10).await;
    let logs = daemon.logs();
    assert_eq!(code, Some(1), "{logs}");
    let name = env.db_path().display().to_string();
    assert!(
        logs.contains(&format!("database {name} was deleted")),
        "the error does not name the file: {logs}"
    );
}

#[tokio::test]
async fn a_replaced_database_stops_the_daemon_with_an_error_naming_it() {
    let env = TestEnv::new().await;
    if !env.sqlite_only("a_replaced_database_stops_the_daemon_with_an_error_naming_it") {
        return;
    }
    let config = env.write_config(&every_second("tick", &pools(1), ""));
    let mut daemon = env.spawn_daemon(&config).await;
    assert!(wait_for(10, || async { daemon.logs().contains("started") }).await);
    let other = env.path("other.db");
    std::fs::copy(env.db_path(), &other).unwrap();
    std::fs::rename(&other, env.db_path()).unwrap();
    let code = daemon.wait_exit(10).await;
    let logs = daemon.logs();
    assert_eq!(code, Some(1), "{logs}");
    assert!(logs.contains("replaced by another file"), "{logs}");
}

#[tokio::test]
async fn a_reload_refuses_what_run_refuses_and_keeps_the_running_schedules() {
    let env = TestEnv::new().await;
    let config = env.write_config(&every_second("tick", &pools(1), ""));
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    assert!(wait_for(10, || async { count_status(&db, "sent").await >= 2 }).await);
    // An empty file is valid TOML, but `run` refuses it (no credentials, no database
    // directory): a reload must too, instead of dropping every schedule.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, "").unwrap();
    let run = env
        .run(&["check", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(run.status.code(), Some(78), "{}", stderr(&run));
    daemon.signal("HUP");
    assert!(wait_for(5, || async { daemon.logs().contains("reload refused") }).await);
    let after_reload = count_status(&db, "sent").await;
    assert!(
        wait_for(5, || async {
            count_status(&db, "sent").await >= after_reload + 2
        })
        .await,
        "the running schedule stopped after a refused reload:\n{}",
        daemon.logs()
    );
    assert!(
        daemon.logs().contains("ERROR"),
        "refusal not logged at error"
    );
    // A good file is still applied.
    std::fs::write(
        &config,
        format!("{text}\n{}", every_second("tock", &pools(1), "")),
    )
    .unwrap();
    daemon.signal("HUP");
    let tock = wait_for(5, || async {
        deliveries(&db)
            .await
            .iter()
            .any(|r| r.schedule_id == "tock")
    })
    .await;
    assert!(tock, "{}", daemon.logs());
    assert_eq!(daemon.stop(10).await, Some(0));
}

#[tokio::test]
async fn downtime_within_grace_is_coalesced_by_default_and_replayed_with_catch_up_all() {
    let env = TestEnv::new().await;
    let schedules = format!(
        "{}{}",
        every_second("latest", &pools(1), "misfire_grace = \"10m\""),
        every_second(
            "replay",
            &pools(1),
            "misfire_grace = \"10m\"\ncatch_up = \"all\""
        )
    );
    let config = env.write_config(&schedules);
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    assert!(wait_for(10, || async { count_status(&db, "sent").await >= 4 }).await);
    assert_eq!(daemon.stop(10).await, Some(0));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let daemon = env.spawn_daemon(&config).await;
    let before = deliveries(&db).await.len();
    assert!(wait_for(10, || async { deliveries(&db).await.len() >= before + 8 }).await);
    let logs = daemon.logs();
    assert_eq!(daemon.stop(10).await, Some(0));
    // Users got the newer message: recorded and logged (at warn) as coalesced, not missed.
    let line = logs
        .lines()
        .find(|l| l.contains("coalesced: "))
        .unwrap_or("");
    assert!(line.contains("WARN"), "{logs}");
    let rows = deliveries(&db).await;
    assert!(rows.iter().all(|r| r.status != "missed"), "{rows:#?}");
    let missed: Vec<&DeliveryRecord> = rows.iter().filter(|r| r.status == "coalesced").collect();
    assert_eq!(missed.len(), 1, "{missed:#?}");
    assert_eq!(missed[0].schedule_id, "latest");
    let note = missed[0].error_msg.as_deref().unwrap();
    assert!(
        note.contains("within misfire_grace 10m coalesced into the one sent for")
            && note.contains("catch_up = \"latest\""),
        "{note}"
    );
    assert!(!note.contains("past misfire_grace"), "{note}");
    // `all`: one sent row per second, no gap (a row claimed just before the last stop may
    // still be pending: the next start resumes it).
    let mut replay: Vec<chrono::DateTime<chrono::Utc>> = rows
        .iter()
        .filter(|r| r.schedule_id == "replay")
        .map(|r| {
            assert!(r.status == "sent" || r.status == "pending", "{r:?}");
            chrono::DateTime::parse_from_rfc3339(&r.due_at)
                .unwrap()
                .to_utc()
        })
        .collect();
    replay.sort();
    for pair in replay.windows(2) {
        assert_eq!((pair[1] - pair[0]).num_seconds(), 1, "gap in {replay:?}");
    }
}

#[tokio::test]
async fn two_processes_migrating_a_new_database_at_once_both_succeed() {
    let env = TestEnv::new().await;
    for round in 0..3 {
        let config = env.write_config(&every_second("tick", &pools(1), ""));
        let db = env.path(&format!("race-{round}.db"));
        let db = db.to_str().unwrap().to_owned();
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let id = format!("s{i}");
                std::thread::spawn({
                    let config = config.clone();
                    let db = db.clone();
                    let home = env.dir.path().to_owned();
                    move || {
                        std::process::Command::new(BIN)
                            .args(["schedule", "add", "--config", config.to_str().unwrap()])
                            .args([
                                "--id",
                                &id,
                                "--every",
                                "1h",
                                "--pool",
                                POOL,
                                "--message",
                                "m",
                            ])
                            .env("WORKSPACE_NOTIFIER__DAEMON__DATABASE", &db)
                            .env("HOME", home)
                            .output()
                            .unwrap()
                    }
                })
            })
            .collect();
        for handle in handles {
            let out = handle.join().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                stderr(&out)
            );
        }
    }
    // Two daemons started at the same moment on a new database.
    let config = env.write_config(&every_second("tick", &pools(1), ""));
    let fresh = env.path("daemons.db");
    let options = |log| {
        DaemonOptions {
            log: Some(log),
            ..Default::default()
        }
        .env(
            "WORKSPACE_NOTIFIER__DAEMON__DATABASE",
            fresh.to_str().unwrap(),
        )
    };
    let a = env.spawn_daemon_with(&config, &options("a.log"));
    let b = env.spawn_daemon_with(&config, &options("b.log"));
    for daemon in [&a, &b] {
        let started = wait_for(15, || async { daemon.logs().contains("started") }).await;
        assert!(started, "{}", daemon.logs());
    }
    assert_eq!(a.stop(10).await, Some(0));
    assert_eq!(b.stop(10).await, Some(0));
}

/// libfaketime, which steps the wall clock of one process (CI installs the `faketime`
/// package). The monotonic clock is left alone, as a real clock step would.
fn libfaketime() -> String {
    let found = std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(Result::ok)
        .map(|dir| dir.path().join("faketime/libfaketime.so.1"))
        .find(|path| path.exists());
    found
        .expect("libfaketime not found: install the Debian package faketime (.ci/run does)")
        .display()
        .to_string()
}

#[tokio::test]
async fn wall_clock_steps_are_logged_and_re_planned_without_doubles() {
    let env = TestEnv::new().await;
    let config = env.write_config(&every_second("tick", &pools(2), ""));
    let stamp = env.path("faketime");
    std::fs::write(&stamp, "+0s\n").unwrap();
    let options = DaemonOptions::default()
        .env("LD_PRELOAD", libfaketime())
        .env("FAKETIME_TIMESTAMP_FILE", stamp.to_str().unwrap())
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let daemon = env.spawn_daemon_with(&config, &options);
    let db = env.db().await;
    assert!(wait_for(10, || async { count_status(&db, "sent").await >= 4 }).await);
    std::fs::write(&stamp, "-10m\n").unwrap();
    let back = wait_for(5, || async {
        daemon.logs().contains("wall clock stepped back by 10m")
    })
    .await;
    assert!(back, "{}", daemon.logs());
    let before_forward = count_status(&db, "sent").await;
    std::fs::write(&stamp, "+0s\n").unwrap();
    let forward = wait_for(5, || async {
        daemon.logs().contains("wall clock stepped forward by 10m")
    })
    .await;
    assert!(forward, "{}", daemon.logs());
    // Firing goes on from the new time.
    assert!(
        wait_for(5, || async {
            count_status(&db, "sent").await >= before_forward + 4
        })
        .await,
        "{}",
        daemon.logs()
    );
    assert_eq!(daemon.stop(10).await, Some(0));
    let sent = count_status(&db, "sent").await as usize;
    let received = env.fake.received();
    assert!(received.iter().all(|r| r.auth_problem.is_none()));
    assert_eq!(received.len(), sent, "a request was sent twice");
}

#[tokio::test]
async fn a_rejected_iam_token_is_re_read_once_and_retried_once() {
    let env = TestEnv::new().await;
    env.fake.accept_tokens(&["the-right-token"]);
    write_secret(&env.path("iam-token"), "a-wrong-token");
    let config = env.write_token_config(&env.path("iam-token"));
    let out = env.send(&config, "hello").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(env.fake.received().len(), 2, "{}", stderr(&out));
}

#[tokio::test]
async fn a_permission_denial_keeps_its_encoded_authorization_message() {
    let env = TestEnv::new().await;
    let body = serde_json::json!({
        "error_code": "WKS.0403",
        "error_msg": "Permission denied",
        "encoded_authorization_message": "ENCODED-REASON-4f2a"
    })
    .to_string();
    env.fake.script([Reply::RawError(403, body)]);
    let config = env.write_config("");
    let out = env.send(&config, "hello").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("ENCODED-REASON-4f2a"),
        "{}",
        stderr(&out)
    );
    let history = env
        .run(&["history", "--config", config.to_str().unwrap()])
        .await;
    assert!(
        stdout(&history).contains("ENCODED-REASON-4f2a"),
        "{}",
        stdout(&history)
    );
    let db = env.db().await;
    let attempts = attempts(&db, 1).await;
    assert!(
        attempts[0]
            .3
            .as_deref()
            .unwrap()
            .contains("encoded_authorization_message: ENCODED-REASON-4f2a"),
        "{attempts:?}"
    );
}
