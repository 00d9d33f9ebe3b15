//! Restarts after downtime, run in-process with a shifted wall clock instead of waiting hours.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use tokio::sync::mpsc;
use workspace_notifier::engine::daemon::{self, Control};
use workspace_notifier::engine::shutdown::Shutdown;
use workspace_notifier::platform::clock::Clock;

use crate::helpers::*;

/// Runs the daemon in-process with `clock` for `run_for`, then stops it.
async fn run_daemon(config: &std::path::Path, clock: Clock, run_for: std::time::Duration) {
    let config = workspace_notifier::config::load(config).unwrap();
    let shutdown = Shutdown::default();
    let (_reload_tx, reload_rx) = mpsc::channel(1);
    let stop = shutdown.stop.clone();
    let task = tokio::spawn(daemon::serve(
        config,
        clock,
        Control {
            shutdown,
            reload: reload_rx,
            routes: None,
            tls: None,
        },
    ));
    tokio::time::sleep(run_for).await;
    stop.cancel();
    task.await.unwrap().unwrap();
}

/// A clock whose "now" is `minutes_past` minutes after a whole hour, `hours_ahead` hours on.
fn clock_at(hours_ahead: i64, minutes_past: i64) -> (Clock, DateTime<Utc>) {
    let now = Utc::now();
    let hour = now.duration_trunc(TimeDelta::hours(1)).unwrap() + TimeDelta::hours(hours_ahead);
    let target = hour + TimeDelta::minutes(minutes_past);
    (Clock::shifted(target - now), hour)
}

#[tokio::test]
async fn downtime_past_the_grace_records_one_missed_row_and_sends_nothing_stale() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml(
        "hourly",
        "cron = \"0 0 * * * *\"",
        &[POOL, "pool-b"],
        "misfire_grace = \"5m\"",
    ));
    let (first, _) = clock_at(0, 20);
    run_daemon(&config, first, std::time::Duration::from_millis(300)).await;
    let (later, last_hour) = clock_at(4, 30);
    run_daemon(&config, later, std::time::Duration::from_millis(500)).await;
    assert!(env.fake.received().is_empty(), "nothing stale was sent");
    let rows = deliveries(&env.db().await).await;
    assert_eq!(rows.len(), 2, "one missed row per pool: {rows:?}");
    for row in &rows {
        assert_eq!(row.status, "missed");
        assert_eq!(
            row.due_at,
            last_hour.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        );
        let note = row.error_msg.as_deref().unwrap();
        assert!(note.starts_with("4 occurrence(s)"), "{note}");
    }
}

#[tokio::test]
async fn downtime_within_the_grace_still_sends_the_latest_late() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml(
        "hourly",
        "cron = \"0 0 * * * *\"",
        &[POOL],
        "misfire_grace = \"5m\"",
    ));
    let (first, _) = clock_at(0, 20);
    run_daemon(&config, first, std::time::Duration::from_millis(300)).await;
    let (later, last_hour) = clock_at(3, 2);
    run_daemon(&config, later, std::time::Duration::from_millis(800)).await;
    let rows = deliveries(&env.db().await).await;
    let sent: Vec<_> = rows.iter().filter(|r| r.status == "sent").collect();
    let missed: Vec<_> = rows.iter().filter(|r| r.status == "missed").collect();
    assert_eq!(sent.len(), 1, "{rows:?}");
    assert_eq!(
        sent[0].due_at,
        last_hour.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    );
    assert_eq!(missed.len(), 1);
    assert!(
        missed[0]
            .error_msg
            .as_deref()
            .unwrap()
            .starts_with("2 occurrence(s)"),
        "{:?}",
        missed[0].error_msg
    );
    assert_eq!(env.fake.received().len(), 1);
}

#[tokio::test]
async fn a_new_schedule_has_no_missed_past() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml(
        "fresh",
        "cron = \"0 0 * * * *\"",
        &[POOL],
        "",
    ));
    let (clock, _) = clock_at(5, 30);
    run_daemon(&config, clock, std::time::Duration::from_millis(300)).await;
    assert!(deliveries(&env.db().await).await.is_empty());
}

#[tokio::test]
async fn a_pending_row_past_its_deadline_is_closed_as_failed_on_start() {
    let env = TestEnv::new().await;
    // A send interrupted mid-retry leaves a pending row; the daemon starts an hour later.
    let (config, mut child) = send_stuck_in_backoff(&env, "late").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    tokio::time::sleep(env.takeover_wait()).await;
    let (later, _) = clock_at(1, 30);
    run_daemon(&config, later, std::time::Duration::from_millis(300)).await;
    let rows = deliveries(&env.db().await).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("failed", 1));
    assert!(
        rows[0].error_msg.as_deref().unwrap().contains("deadline"),
        "{:?}",
        rows[0].error_msg
    );
    assert_eq!(env.fake.received().len(), 1);
}

#[tokio::test]
async fn a_pending_row_of_a_running_process_is_left_to_it_and_adopted_once_it_is_killed() {
    let env = TestEnv::new().await;
    // A `send` in its 30 s backoff owns the pending row.
    let (config, mut sender) = send_stuck_in_backoff(&env, "owned").await;
    run_daemon(
        &config,
        Clock::system(),
        std::time::Duration::from_millis(500),
    )
    .await;
    assert_eq!(
        env.fake.received().len(),
        1,
        "the daemon left the running sender's row alone"
    );
    assert_eq!(deliveries(&env.db().await).await[0].status, "pending");

    sender.kill().unwrap(); // SIGKILL: no cleanup, the lock goes with the process
    sender.wait().unwrap();
    tokio::time::sleep(env.takeover_wait()).await;
    run_daemon(
        &config,
        Clock::system(),
        std::time::Duration::from_millis(1500),
    )
    .await;
    let rows = deliveries(&env.db().await).await;
    assert_eq!(
        (rows.len(), rows[0].status.as_str(), rows[0].attempts),
        (1, "sent", 2)
    );
    assert_eq!(env.fake.received().len(), 2);
}

#[tokio::test]
async fn a_claimed_but_unsent_row_found_past_its_grace_is_recorded_missed_not_sent_late() {
    use workspace_notifier::domain::{PoolId, ScheduleId};
    use workspace_notifier::store::NewDelivery;
    let env = TestEnv::new().await;
    let config_path = env.write_config(&schedule_toml(
        "hourly",
        "cron = \"0 0 * * * *\"",
        &[POOL],
        "misfire_grace = \"5m\"",
    ));
    // As if the daemon had claimed an occurrence ahead of time and been killed before it was due.
    let config = workspace_notifier::config::load(&config_path).unwrap();
    let store = workspace_notifier::engine::wiring::open_store(&config)
        .await
        .unwrap();
    let due = Utc::now().duration_trunc(TimeDelta::seconds(1)).unwrap() + TimeDelta::seconds(1);
    let row = NewDelivery::new(
        (
            ScheduleId::parse("hourly").unwrap(),
            workspace_notifier::domain::WorkspaceName::default_name(),
        ),
        workspace_notifier::domain::Target::Pool(PoolId::parse(POOL).unwrap()),
        (due, due + TimeDelta::minutes(30)),
        "message of hourly".into(),
    );
    store
        .claim_deliveries(&[row], &[], Utc::now())
        .await
        .unwrap();
    store.close().await;
    run_daemon(
        &config_path,
        Clock::shifted(TimeDelta::minutes(20)),
        std::time::Duration::from_millis(300),
    )
    .await;
    let rows = deliveries(&env.db().await).await;
    assert_eq!(rows[0].status, "missed", "{rows:?}");
    assert!(
        rows[0]
            .error_msg
            .as_deref()
            .unwrap()
            .contains("past misfire_grace 5m"),
        "{:?}",
        rows[0].error_msg
    );
    assert!(env.fake.received().is_empty());
}

/// Starts `send` against a fake that answers 500 once, and returns when it is in a 30 s
/// backoff: its delivery row is `pending` with one attempt, owned by the running process.
async fn send_stuck_in_backoff(
    env: &TestEnv,
    text: &str,
) -> (std::path::PathBuf, std::process::Child) {
    env.fake
        .script([crate::fake::Reply::error(500, "WKS.0500")]);
    let config = env.write_config_with(
        &env.fake.endpoint(),
        "max_attempts = 5\ninitial_delay = \"30s\"\nmax_delay = \"30s\"\nmax_elapsed = \"10m\"",
        "",
    );
    let child = std::process::Command::new(BIN)
        .args(send_args(&config, POOL, text))
        .current_dir(env.dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(5, || async { env.fake.received().len() == 1 }).await);
    (config, child)
}
