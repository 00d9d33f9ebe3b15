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
