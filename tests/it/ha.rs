//! Several instances on one PostgreSQL (run when `WORKSPACE_NOTIFIER_TEST_POSTGRES` is set):
//! failover after `kill -9` and after a pause longer than the lease, the database going away
//! and coming back mid-burst, the password sources; and `store copy` (on either store).
//!
//! The failover and restart tests are `#[ignore]`d in the ordinary run: one restarts the
//! PostgreSQL cluster every other test shares, and both run three daemons for half a minute.
//! `.ci/run` runs them on their own, one at a time (`-- --ignored --test-threads 1`).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use crate::helpers::*;

const SCHEDULES: usize = 10;
const POOLS: usize = 10;

/// 10 schedules × 10 pools, every second.
fn burst_config(env: &TestEnv) -> std::path::PathBuf {
    let pools: Vec<String> = (0..POOLS).map(|i| format!("pool-{i:02}")).collect();
    let pools: Vec<&str> = pools.iter().map(String::as_str).collect();
    let schedules: String = (0..SCHEDULES)
        .map(|i| schedule_toml(&format!("s{i}"), "every = \"1s\"", &pools, ""))
        .collect();
    env.write_config(&schedules)
}

fn instance_id(daemon: &Daemon) -> String {
    let logs = daemon.logs();
    let at = logs
        .find("instance=")
        .expect("started line names the instance")
        + 9;
    logs[at..].split_whitespace().next().unwrap().to_owned()
}

/// Requests the fake accepted whose job id no delivery recorded, with when they came.
fn unrecorded(env: &TestEnv, rows: &[DeliveryRecord]) -> Vec<DateTime<Utc>> {
    let recorded: HashSet<&str> = rows.iter().filter_map(|r| r.job_id.as_deref()).collect();
    env.fake
        .received()
        .iter()
        .filter(|r| r.job_id.as_deref().is_some_and(|j| !recorded.contains(j)))
        .map(|r| r.at)
        .collect()
}

#[tokio::test]
#[ignore = "three daemons for 35 s on PostgreSQL; .ci/run runs it alone"]
async fn failover_kill_9_and_a_pause_past_the_lease_lose_and_double_nothing() {
    let env = TestEnv::new().await;
    if env.postgres.is_none() {
        eprintln!("failover: skipped: needs {POSTGRES_VAR}");
        return;
    }
    let config = burst_config(&env);
    let start = std::time::Instant::now();
    let spawn = |log| env.spawn_daemon_with(&config, &DaemonOptions::log_to(log));
    let (mut a, b, c) = (spawn("a.log"), spawn("b.log"), spawn("c.log"));
    for d in [&a, &b, &c] {
        assert!(wait_for(20, || async { d.logs().contains("started") }).await);
    }
    let (a_id, b_id) = (instance_id(&a), instance_id(&b));
    let db = env.db().await;

    // kill -9 one instance at a random point.
    let kill_after = 5_000 + Utc::now().timestamp_subsec_millis() as u64 * 4;
    tokio::time::sleep(Duration::from_millis(kill_after).saturating_sub(start.elapsed())).await;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let killed_at = Utc::now();
    eprintln!("failover: killed instance {a_id} at {killed_at} ({kill_after} ms in)");

    // Pause another for longer than its lease (3 s) and the takeover grace (3 s), at a moment
    // it owns claimed deliveries: claims are made 250 ms before the second, so it is stopped
    // 150 ms before one; if it won none of that second's rows, it goes on and is tried again.
    tokio::time::sleep(Duration::from_secs(13).saturating_sub(start.elapsed())).await;
    let mut tries = 0;
    let (stopped_at, b_pending) = loop {
        let to_mark = 850u32.saturating_sub(Utc::now().timestamp_subsec_millis());
        tokio::time::sleep(Duration::from_millis(
            u64::from(to_mark) + 1000 * u64::from(to_mark < 50),
        ))
        .await;
        b.signal("STOP");
        let stopped_at = Utc::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pending: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM deliveries WHERE status = 'pending' AND claimed_by = $1",
        )
        .bind(&b_id)
        .fetch_all(&db)
        .await
        .unwrap();
        tries += 1;
        if !pending.is_empty() || tries == 10 {
            break (stopped_at, pending);
        }
        b.signal("CONT");
    };
    assert!(
        !b_pending.is_empty(),
        "the paused instance never owned a pending delivery"
    );
    tokio::time::sleep(Duration::from_secs(9)).await;
    b.signal("CONT");
    let continued_at = Utc::now();
    eprintln!(
        "failover: paused instance {b_id} from {stopped_at} to {continued_at}, owning {} pending deliveries",
        b_pending.len()
    );

    tokio::time::sleep(Duration::from_secs(36).saturating_sub(start.elapsed())).await;
    let b_logs = b.logs();
    assert_eq!(b.stop(15).await, Some(0));
    assert_eq!(c.stop(15).await, Some(0));
    drain(&env, &config).await;

    let rows = deliveries(&db).await;
    assert_eq!(count_status(&db, "pending").await, 0);
    assert_every_occurrence_accounted(&db, &rows, SCHEDULES * POOLS).await;
    // The paused instance found out, and sent nothing it had lost.
    assert!(b_logs.contains("lease had run out"), "{b_logs}");
    for id in &b_pending {
        let row = rows.iter().find(|r| r.id == *id).unwrap();
        assert_eq!(row.status, "sent", "{row:?}");
    }
    let owners: Vec<Option<String>> = {
        let mut q = String::from("SELECT claimed_by FROM deliveries WHERE id IN (0");
        for id in &b_pending {
            q.push_str(&format!(", {id}"));
        }
        q.push(')');
        sqlx::query_scalar(sqlx::AssertSqlSafe(q))
            .fetch_all(&db)
            .await
            .unwrap()
    };
    assert!(
        owners.iter().all(|o| o.as_deref() != Some(b_id.as_str())),
        "the paused instance's deliveries were taken over: {owners:?}"
    );
    // Repeated requests only from requests in flight at the kill or the pause: accepted by
    // the fake but never recorded, and sent just before either. None after the pause ended.
    let in_flight_window = |event: DateTime<Utc>, at: &DateTime<Utc>| {
        *at > event - chrono::TimeDelta::seconds(3)
            && *at <= event + chrono::TimeDelta::milliseconds(500)
    };
    let lost = unrecorded(&env, &rows);
    let outside: Vec<&DateTime<Utc>> = lost
        .iter()
        .filter(|at| !in_flight_window(killed_at, at) && !in_flight_window(stopped_at, at))
        .collect();
    assert!(
        outside.is_empty(),
        "accepted requests never recorded, sent neither at the kill nor at the pause: {outside:?}"
    );
    let received = env.fake.received();
    assert!(received.iter().all(|r| r.auth_problem.is_none()));
    let accepted = received.iter().filter(|r| r.job_id.is_some()).count();
    let sent = rows.iter().filter(|r| r.status == "sent").count();
    eprintln!(
        "failover: {} rows, {sent} sent, {accepted} requests accepted, {} never recorded (all in flight at the kill or pause), {} of the paused instance's deliveries taken over",
        rows.len(),
        lost.len(),
        b_pending.len()
    );
}

/// Runs `pg_ctl ARGS` on the tests' cluster (`WORKSPACE_NOTIFIER_TEST_PG_CTL`).
fn pg_ctl(args: &str) {
    let command = std::env::var("WORKSPACE_NOTIFIER_TEST_PG_CTL")
        .expect("WORKSPACE_NOTIFIER_TEST_PG_CTL (set by tests/pg/cluster.sh)");
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("{command} {args} >/dev/null")])
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl {args}");
}

#[tokio::test]
#[ignore = "restarts the PostgreSQL cluster the other tests share; .ci/run runs it alone"]
async fn postgresql_restarted_or_down_mid_burst_loses_and_doubles_nothing() {
    let env = TestEnv::new().await;
    if env.postgres.is_none() || std::env::var("WORKSPACE_NOTIFIER_TEST_PG_CTL").is_err() {
        eprintln!("restart: skipped: needs {POSTGRES_VAR} and WORKSPACE_NOTIFIER_TEST_PG_CTL");
        return;
    }
    let config = burst_config(&env);
    let port = free_port();
    let listening_config = listening(&config, port);
    let start = std::time::Instant::now();
    let p = env.spawn_daemon_with(&listening_config, &DaemonOptions::log_to("p.log"));
    let q = env.spawn_daemon_with(&config, &DaemonOptions::log_to("q.log"));
    for d in [&p, &q] {
        assert!(wait_for(20, || async { d.logs().contains("started") }).await);
    }
    // A restart in the middle of the burst.
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(start.elapsed())).await;
    pg_ctl("restart -m fast");
    eprintln!("restart: restarted at {}", Utc::now());
    // Then down for a while: /healthz says so, nothing is sent, then it comes back.
    tokio::time::sleep(Duration::from_secs(11).saturating_sub(start.elapsed())).await;
    pg_ctl("stop -m fast");
    let down_at = Utc::now();
    let unhealthy = wait_for(10, || async {
        let (status, body) = http_get(port, "/healthz").await;
        status == 503 && body.contains("database")
    })
    .await;
    let during = http_get(port, "/healthz").await;
    let requests_while_down = env.fake.received().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let requests_before_start = env.fake.received().len();
    pg_ctl("start");
    let up_at = Utc::now();
    assert!(unhealthy, "/healthz while the database is down: {during:?}");
    assert_eq!(
        requests_while_down, requests_before_start,
        "requests went out while the database was down"
    );
    let healthy = wait_for(15, || async { http_get(port, "/healthz").await.0 == 200 }).await;
    assert!(
        healthy,
        "/healthz after the database came back: {:?}",
        http_get(port, "/healthz").await
    );
    tokio::time::sleep(Duration::from_secs(25).saturating_sub(start.elapsed())).await;
    let p_logs = p.logs();
    assert_eq!(p.stop(20).await, Some(0));
    assert_eq!(q.stop(20).await, Some(0));
    drain(&env, &config).await;

    assert!(
        p_logs.contains("ERROR"),
        "the outage was logged at error:\n{p_logs}"
    );
    let db = env.db().await;
    let rows = deliveries(&db).await;
    assert_eq!(count_status(&db, "pending").await, 0);
    assert_every_occurrence_accounted(&db, &rows, SCHEDULES * POOLS).await;
    let lost = unrecorded(&env, &rows);
    assert!(lost.is_empty(), "accepted but never recorded: {lost:?}");
    let accepted = env
        .fake
        .received()
        .iter()
        .filter(|r| r.job_id.is_some())
        .count();
    let sent = rows.iter().filter(|r| r.status == "sent").count();
    assert_eq!(accepted, sent);
    eprintln!(
        "restart: {} rows ({sent} sent, {} missed), database down from {down_at} to {up_at}",
        rows.len(),
        rows.iter().filter(|r| r.status == "missed").count()
    );
}

/// Runs the binary and asserts it exits `code`; its stdout and stderr.
async fn run_ok(env: &TestEnv, args: &[&str], code: i32) -> (String, String) {
    let out = env.run(args).await;
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(code), "{args:?}:\n{o}\n{e}");
    (o, e)
}

/// `store copy --from FROM --to TO [--force]`, expected to exit `code`.
async fn store_copy(
    env: &TestEnv,
    from: &str,
    to: &str,
    force: bool,
    code: i32,
) -> (String, String) {
    let mut args = vec!["store", "copy", "--from", from, "--to", to];
    args.extend(force.then_some("--force"));
    run_ok(env, &args, code).await
}

#[tokio::test]
async fn store_copy_moves_everything_and_refuses_a_non_empty_target() {
    let env = TestEnv::new().await;
    // The source is always a SQLite file; the target is the test's store (PostgreSQL when
    // the tests run there, else the test's own file).
    let source = env.path("source.db").display().to_string();
    let target = env.database();
    let config = env.write_config("");
    let text = std::fs::read_to_string(&config).unwrap();
    let source_config = env.path("source.toml");
    std::fs::write(&source_config, text.replace(&target, &source)).unwrap();
    let sc = source_config.to_str().unwrap();
    run_ok(&env, &send_args(&source_config, POOL, "before the move"), 0).await;
    env.create_database(&source_config).await; // adds a paused schedule, "unused"
    let window = [
        "--id",
        "weekly",
        "--cron",
        "0 0 22 * * Sat",
        "--duration",
        "2h",
    ];
    let window_rest = [
        "--notify-before",
        "1h",
        "--pool",
        POOL,
        "--message",
        "at {start}",
    ];
    let add = [
        &["maintenance", "add", "--config", sc][..],
        &window,
        &window_rest,
    ]
    .concat();
    run_ok(&env, &add, 0).await;
    run_ok(
        &env,
        &["maintenance", "cancel", "--config", sc, "weekly"],
        0,
    )
    .await;
    let (out, _) = store_copy(&env, &source, &target, false, 0).await;
    assert!(out.contains("1 deliveries, 1 attempts"), "{out}");
    assert!(
        out.contains("1 schedules, 1 maintenance_windows, 1 window_cancellations"),
        "{out}"
    );
    // The target's commands see what the source had.
    let c = config.to_str().unwrap();
    let (history, _) = run_ok(&env, &["history", "--config", c, "--json"], 0).await;
    assert!(history.contains("before the move"), "{history}");
    let (list, _) = run_ok(&env, &["schedule", "list", "--config", c], 0).await;
    assert!(list.contains("unused"), "{list}");
    let db = env.db().await;
    let rows = deliveries(&db).await;
    assert_eq!(
        (rows.len(), rows[0].id, rows[0].status.as_str()),
        (1, 1, "sent")
    );
    assert_eq!(attempts(&db, 1).await.len(), 1);

    // Again: refused, and nothing changed.
    let (_, err) = store_copy(&env, &source, &target, false, 1).await;
    assert!(
        err.contains("already holds data") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(deliveries(&db).await.len(), 1);
    // A new delivery on the target continues after the copied ids.
    run_ok(&env, &send_args(&config, POOL, "after the move"), 0).await;
    let rows = deliveries(&db).await;
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2]);
    // --force replaces the target's contents with the source's.
    store_copy(&env, &source, &target, true, 0).await;
    assert_eq!(deliveries(&db).await.len(), 1);
    // Bad arguments name themselves.
    let (_, err) = store_copy(&env, "/nonexistent/x.db", &target, false, 78).await;
    assert!(
        err.contains("--from") && err.contains("/nonexistent/x.db"),
        "{err}"
    );
    let (_, err) = store_copy(&env, &source, "postgres://u:hunter2@db/x", false, 78).await;
    assert!(err.contains("--to") && !err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn the_postgresql_password_comes_from_a_file_pgpassword_pgpass_or_a_credential_and_is_never_shown()
 {
    let env = TestEnv::new().await;
    let Some(url) = &env.postgres else {
        eprintln!("password sources: skipped: needs {POSTGRES_VAR}");
        return;
    };
    // A database owned by a role that must give its password (SCRAM); see tests/pg/cluster.sh.
    let base = std::env::var(POSTGRES_VAR).unwrap();
    let name = format!("{}_pw", url.rsplit('/').next().unwrap());
    let admin = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} OWNER wn_password"
    )))
    .execute(&admin)
    .await
    .unwrap();
    let mut role_url = reqwest::Url::parse(&base).unwrap();
    role_url.set_username("wn_password").unwrap();
    role_url.set_path(&format!("/{name}"));
    let config = env.write_config("");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(url.as_str(), role_url.as_str());
    let with = |extra: &str| {
        let path = env.path("pw.toml");
        std::fs::write(
            &path,
            text.replace(
                "timezone = \"UTC\"",
                &format!("timezone = \"UTC\"\n{extra}"),
            ),
        )
        .unwrap();
        path
    };
    let env = &env;
    let list = |config: std::path::PathBuf, vars: Vec<(&'static str, String)>| async move {
        let c = config.to_str().unwrap().to_owned();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.run_env(&["schedule", "list", "--config", &c], &vars)
            .await
    };
    // No password anywhere: refused by the server, said plainly.
    let out = list(with(""), vec![]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("password"), "{}", stderr(&out));
    // A wrong one in the file: refused, and the attempt's password is not repeated.
    write_secret(&env.path("wrong"), "not-the-secret");
    let out = list(
        with(&format!(
            "database_password_file = \"{}\"",
            env.path("wrong").display()
        )),
        vec![],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not-the-secret"), "{}", stderr(&out));
    // Each source works.
    write_secret(&env.path("right"), "wn-secret");
    let from_file = with(&format!(
        "database_password_file = \"{}\"",
        env.path("right").display()
    ));
    let out = list(from_file.clone(), vec![]).await;
    assert_eq!(out.status.code(), Some(0), "file: {}", stderr(&out));
    let out = list(with(""), vec![("PGPASSWORD", "wn-secret".into())]).await;
    assert_eq!(out.status.code(), Some(0), "PGPASSWORD: {}", stderr(&out));
    let creds = env.path("creds");
    std::fs::create_dir(&creds).unwrap();
    write_secret(&creds.join("database_password"), "wn-secret");
    let out = list(
        with(""),
        vec![("CREDENTIALS_DIRECTORY", creds.display().to_string())],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "credential: {}", stderr(&out));
    write_secret(
        &env.path(".pgpass"),
        &format!("127.0.0.1:*:{name}:wn_password:wn-secret"),
    );
    let out = list(with(""), vec![]).await;
    assert_eq!(out.status.code(), Some(0), ".pgpass: {}", stderr(&out));
    std::fs::remove_file(env.path(".pgpass")).unwrap();
    // In the URL: refused as a config error, without repeating it.
    let mut with_password = role_url.clone();
    with_password.set_password(Some("wn-secret")).unwrap();
    std::fs::write(
        env.path("pw-url.toml"),
        text.replace(role_url.as_str(), with_password.as_str()),
    )
    .unwrap();
    let out = list(env.path("pw-url.toml"), vec![]).await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("daemon.database") && !stderr(&out).contains("wn-secret"),
        "{}",
        stderr(&out)
    );
    // A daemon logging at debug never writes it either.
    let from_file = with(&format!(
        "database_password_file = \"{}\"",
        env.path("right").display()
    ));
    let daemon = env.spawn_daemon(&from_file).await;
    assert!(
        wait_for(20, || async { daemon.logs().contains("started") }).await,
        "{}",
        daemon.logs()
    );
    let logs = daemon.logs();
    assert_eq!(daemon.stop(10).await, Some(0));
    assert!(!logs.contains("wn-secret"), "{logs}");
}

#[tokio::test]
#[ignore = "stops the PostgreSQL cluster the other tests share; .ci/run runs it alone"]
async fn a_delivery_whose_task_ended_on_a_database_error_is_resumed_by_its_own_instance() {
    let env = TestEnv::new().await;
    if env.postgres.is_none() || std::env::var("WORKSPACE_NOTIFIER_TEST_PG_CTL").is_err() {
        eprintln!("own resume: skipped: needs {POSTGRES_VAR} and WORKSPACE_NOTIFIER_TEST_PG_CTL");
        return;
    }
    // A maintenance warning (re-read before it is sent, as it may be cancelled) due in 8 s,
    // whose deadline is the window's start, 38 s away.
    let start = (Utc::now() + chrono::TimeDelta::seconds(38)).trunc_subsecs(0);
    let config = env.write_config(&format!(
        "[[maintenance_windows]]\nid = \"patch\"\nstart = \"{}\"\nduration = \"10m\"\nnotify_before = [\"30s\"]\npools = [\"{POOL}\"]\nmessage = \"Restart at {{start}}\"\n",
        start.to_rfc3339()
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(wait_for(20, || async { daemon.logs().contains("started") }).await);
    // Claimed a moment before it is due; the database goes away before it is due, for
    // longer than the pool waits for a connection (5 s), so the delivery's check fails.
    let db = env.db().await;
    assert!(wait_for(15, || async { count_status(&db, "pending").await == 1 }).await);
    db.close().await;
    pg_ctl("stop -m fast");
    tokio::time::sleep(Duration::from_secs(8)).await;
    pg_ctl("start");
    let logs = daemon.logs();
    assert!(
        logs.contains("it stays pending"),
        "the task ended on the database error:\n{logs}"
    );
    assert_eq!(
        env.fake.received().len(),
        0,
        "nothing sent while the database was away"
    );
    // Resumed by the instance itself, while it runs, within its deadline.
    let db = env.db().await;
    let sent = wait_for(15, || async { count_status(&db, "sent").await == 1 }).await;
    let logs = daemon.logs();
    assert!(sent, "{logs}");
    assert!(logs.contains("resuming a pending delivery"), "{logs}");
    assert_eq!(env.fake.received().len(), 1);
    assert_eq!(daemon.stop(10).await, Some(0));
}

#[tokio::test]
async fn a_change_is_announced_to_every_listening_instance_at_once() {
    let env = TestEnv::new().await;
    if env.postgres.is_none() {
        eprintln!("notify: skipped: needs {POSTGRES_VAR}");
        return;
    }
    let config_path = env.write_config("");
    let config = workspace_notifier::config::load(&config_path).unwrap();
    let store = workspace_notifier::engine::wiring::open_store(&config)
        .await
        .unwrap();
    let watcher = store.change_watcher(&config.daemon.database).await.unwrap();
    let notify = watcher.notifications();
    // Each `schedule add` from another process is announced on the channel; the watcher's
    // listener wakes without being asked (the counter poll is not involved here). The first
    // adds may come before the listener has connected.
    let c = config_path.to_str().unwrap();
    let mut woken = false;
    for i in 0..5 {
        let id = format!("announced-{i}");
        let out = env
            .run(&[
                "schedule",
                "add",
                "--config",
                c,
                "--id",
                &id,
                "--cron",
                "0 0 3 * * *",
                "--pool",
                POOL,
                "--message",
                "m",
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        if tokio::time::timeout(Duration::from_secs(2), notify.notified())
            .await
            .is_ok()
        {
            woken = true;
            break;
        }
    }
    assert!(woken, "no notification reached the listening watcher");
    watcher.close().await;
    store.close().await;
}
