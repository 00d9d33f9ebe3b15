//! Pacing under API throttling: `workspace.max_requests_per_second` keeps a burst under the
//! gateway's limit; without it, a 429 pauses every request and the burst still gets through.

use crate::helpers::*;

const DELIVERIES: usize = 300;

fn burst_config(env: &TestEnv, max_rps: u32) -> std::path::PathBuf {
    let at = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let pools: Vec<String> = (0..DELIVERIES).map(|i| format!("pool-{i:03}")).collect();
    let pools: Vec<&str> = pools.iter().map(String::as_str).collect();
    let config = env.write_config_with(
        &env.fake.endpoint(),
        "max_attempts = 8\ninitial_delay = \"100ms\"\nmax_delay = \"1s\"\nmax_elapsed = \"2m\"",
        &format!(
            "[jobs]\nenabled = false\n\n{}",
            schedule_toml("burst", &format!("at = \"{at}\""), &pools, "")
        ),
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "request_timeout = \"2s\"",
        &format!("request_timeout = \"2s\"\nmax_requests_per_second = {max_rps}"),
    );
    std::fs::write(&config, text).unwrap();
    config
}

async fn run_burst(env: &TestEnv, config: &std::path::Path) -> String {
    let daemon = env.spawn_daemon(config).await;
    let db = env.db().await;
    let done = wait_for(60, || async {
        count_status(&db, "sent").await + count_status(&db, "failed").await == DELIVERIES as i64
    })
    .await;
    let logs = daemon.logs();
    assert!(done, "{logs}");
    assert_eq!(daemon.stop(10).await, Some(0));
    assert_eq!(count_status(&db, "failed").await, 0, "{logs}");
    assert_eq!(count_status(&db, "sent").await, DELIVERIES as i64);
    logs
}

#[tokio::test]
async fn a_rate_limit_keeps_a_burst_under_the_gateways_threshold() {
    let env = TestEnv::new().await;
    env.fake.throttle_above(120);
    let config = burst_config(&env, 100);
    run_burst(&env, &config).await;
    assert_eq!(
        env.fake.throttled(),
        0,
        "the gateway throttled a paced burst"
    );
}

#[tokio::test]
async fn without_a_limit_a_throttle_pauses_every_request_and_all_get_through() {
    let env = TestEnv::new().await;
    env.fake.throttle_above(100);
    let config = burst_config(&env, 0);
    let logs = run_burst(&env, &config).await;
    assert!(env.fake.throttled() > 0, "the burst was never throttled");
    assert!(logs.contains("pausing every request"), "{logs}");
}

/// One call throttled with `Retry-After: 60` holds the others back at most
/// `workspace.throttle_pause_max` (5 s by default), not a minute: another schedule's message
/// due a second later still goes out within seconds.
#[tokio::test]
async fn a_long_retry_after_pauses_other_requests_only_up_to_the_cap() {
    let env = TestEnv::new().await;
    env.fake.script([crate::fake::Reply::Error {
        status: 429,
        code: "APIG.0308",
        msg: "throttled",
        headers: vec![("Retry-After", "60".to_owned())],
    }]);
    let at = |s: i64| (chrono::Utc::now() + chrono::TimeDelta::seconds(s)).to_rfc3339();
    let (first, second) = (at(2), at(3));
    let schedules = format!(
        "[jobs]\nenabled = false\n{}{}",
        schedule_toml("throttled", &format!("at = \"{first}\""), &["pool-a"], ""),
        schedule_toml("other", &format!("at = \"{second}\""), &["pool-b"], ""),
    );
    let config = env.write_config(&schedules);
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    let both = wait_for(20, || async { count_status(&db, "sent").await == 2 }).await;
    assert!(both, "{}", daemon.logs());
    assert_eq!(daemon.stop(5).await, Some(0));
    let received = env.fake.received();
    let due: chrono::DateTime<chrono::Utc> = second.parse().unwrap();
    let other = received
        .iter()
        .find(|r| r.path.contains("pool-b") || String::from_utf8_lossy(&r.body).contains("pool-b"))
        .unwrap();
    let late = (other.at - due).num_milliseconds();
    assert!(
        late < 8_000,
        "the other schedule's message went out {late} ms late"
    );
    assert!(
        daemon_logs_say_paused(&env),
        "the throttle did pause requests"
    );
}

fn daemon_logs_say_paused(env: &TestEnv) -> bool {
    std::fs::read_to_string(env.path("daemon.log"))
        .unwrap_or_default()
        .contains("pause_ms=5000")
}
