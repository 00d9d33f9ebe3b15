//! A bounded kill -9 soak: 100 schedule/pool pairs firing every second against the fake,
//! the daemon killed at random points and restarted, then drained. Nothing may be doubled
//! beyond what was in flight at the kills, lost, or left pending.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use sqlx::Row;

use crate::helpers::*;

const SCHEDULES: usize = 10;
const POOLS: usize = 10;
const KILLS: usize = 10;

/// A small deterministic generator; the seed is printed so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (self.0 >> 33) % (hi - lo)
    }
}

#[tokio::test]
async fn kill_9_at_random_points_loses_and_doubles_nothing_beyond_the_kills() {
    let env = TestEnv::new().await;
    let pools: Vec<String> = (0..POOLS).map(|i| format!("pool-{i:02}")).collect();
    let pools: Vec<&str> = pools.iter().map(String::as_str).collect();
    let schedules: String = (0..SCHEDULES)
        .map(|i| schedule_toml(&format!("s{i}"), "every = \"1s\"", &pools, ""))
        .collect();
    let config = env.write_config(&schedules);
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_millis() as u64);
    eprintln!("soak seed {seed} (set SOAK_SEED to replay)");
    let mut rng = Lcg(seed);
    // Requests the fake took whose attempt was never committed: each was in flight (or
    // answered but not yet recorded) at a kill, and is the only kind that may be repeated.
    let mut unrecorded = 0;
    for _ in 0..KILLS {
        // Not waiting for "started": a kill may land during start-up, which is part of the test.
        let mut daemon = env.spawn_daemon_with(&config, &DaemonOptions::default());
        tokio::time::sleep(Duration::from_millis(rng.next_ms(700, 2500))).await;
        daemon.child.kill().unwrap(); // SIGKILL
        daemon.child.wait().unwrap();
        let db = env.db().await;
        let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts")
            .fetch_one(&db)
            .await
            .unwrap();
        db.close().await;
        unrecorded = env.fake.received().len() - recorded as usize;
    }
    drain(&env, &config).await;
    let db = env.db().await;

    let rows = deliveries(&db).await;
    let received = env.fake.received();
    assert!(received.iter().all(|r| r.auth_problem.is_none()));
    // Every `sent` job_id is one the fake gave out.
    let accepted: HashSet<&str> = received
        .iter()
        .filter_map(|r| r.job_id.as_deref())
        .collect();
    let sent: Vec<&DeliveryRecord> = rows.iter().filter(|r| r.status == "sent").collect();
    for row in &sent {
        let job = row.job_id.as_deref().expect("sent rows have a job id");
        assert!(accepted.contains(job), "{row:?}");
    }
    // Doubles only from requests in flight at a kill.
    let doubles = accepted.len() - sent.len();
    assert!(
        doubles <= unrecorded,
        "{doubles} requests repeated, but only {unrecorded} were in flight at the kills"
    );
    assert_every_occurrence_accounted(&db, &rows, SCHEDULES * POOLS).await;
    let sample = sqlx::query("SELECT count(*) AS n FROM attempts")
        .fetch_one(&db)
        .await
        .unwrap();
    eprintln!(
        "soak: {} rows, {} sent, {} attempts, {} requests accepted, {doubles} repeated after kills ({unrecorded} in flight at the kills)",
        rows.len(),
        sent.len(),
        sample.get::<i64, _>("n"),
        accepted.len()
    );
}
