//! `ha`: several instances on one PostgreSQL.
//!
//! - Two release binaries on one PostgreSQL (3 runs), 10,000 deliveries due at one instant, the fake
//!   answering in 50 ms, `max_in_flight` 64 each: when all were claimed against the due
//!   instant, doubles, and the time to send all against the bound for the combined
//!   concurrency (10,000 / 128 × 50 ms).
//! - `every-second` (1,000 schedules due every second, one instance) on SQLite and on
//!   PostgreSQL alternately, 3 pairs in one run: p99 lateness of each, and their ratio.
//!
//! Uses `WORKSPACE_NOTIFIER_TEST_POSTGRES` (a superuser URL) if set, else starts a throwaway
//! cluster with `tests/pg/cluster.sh` and stops it at the end.

use std::time::Duration;

use chrono::Utc;

use super::support::fake::Reply;
use super::{Setup, every_second_on, one_shot, pct, seconds};

pub(crate) async fn run() {
    sqlx::any::install_default_drivers();
    let (base, cluster) = match std::env::var("WORKSPACE_NOTIFIER_TEST_POSTGRES") {
        Ok(url) => (url, None),
        Err(_) => start_cluster(),
    };
    let mut ratios = Vec::new();
    for run in 0..3 {
        ratios.push(two_instance_burst(&base, run).await);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "ha burst: 3 runs, time to send all over the bound: {ratios:.2?}, median {:.2}",
        pct(&ratios, 0.5)
    );
    lateness_side_by_side(&base).await;
    if let Some(dir) = cluster {
        let _ = std::process::Command::new("bash")
            .args(["tests/pg/cluster.sh", "stop", &dir])
            .status();
    }
}

/// Starts `tests/pg/cluster.sh`; its URL and data directory.
fn start_cluster() -> (String, Option<String>) {
    let out = std::process::Command::new("bash")
        .args(["tests/pg/cluster.sh", "start"])
        .output()
        .expect("bash tests/pg/cluster.sh start");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let var = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .unwrap()
            .to_owned()
    };
    (
        var("WORKSPACE_NOTIFIER_TEST_POSTGRES"),
        Some(var("WORKSPACE_NOTIFIER_TEST_PGDATA")),
    )
}

async fn postgres_setup(base: &str, name: &str) -> Setup {
    let mut setup = Setup::new().await;
    setup.postgres = Some(super::support::postgres::fresh_database(base, name).await);
    setup
}

/// Returns the time to send all over the bound.
async fn two_instance_burst(base: &str, run: usize) -> f64 {
    let setup = postgres_setup(base, &format!("burst{run}")).await;
    setup.fake.answer_otherwise(Reply::Delay(
        Duration::from_millis(50),
        Box::new(Reply::Accept),
    ));
    let (due, schedule) = one_shot(8, 10_000);
    let config = setup.config(64, &schedule);
    let spawn = |log: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_workspace-notifier"))
            .args(["run", "--config", config.to_str().unwrap()])
            .env_remove("WORKSPACE_NOTIFIER_LOG")
            .stderr(std::fs::File::create(setup.dir.path().join(log)).unwrap())
            .spawn()
            .unwrap()
    };
    let mut instances = [spawn("a.log"), spawn("b.log")];
    let db = setup.db().await;
    // When did all 10,000 rows exist?
    let claimed_at = loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
            .fetch_one(&db)
            .await
            .unwrap_or(0);
        if n >= 10_000 {
            break Utc::now();
        }
        assert!(
            Utc::now() < due + chrono::TimeDelta::seconds(10),
            "not all claimed"
        );
    };
    let wait = (due - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(12);
    tokio::time::sleep(wait).await;
    for child in &mut instances {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(child.wait().unwrap().success());
    }
    let received = setup.fake.received();
    let bad = received.iter().filter(|r| r.auth_problem.is_some()).count();
    assert_eq!(bad, 0, "the fake rejected {bad} signatures");
    let last = received.iter().map(|r| r.at).max().unwrap();
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE status = 'sent'")
        .fetch_one(&db)
        .await
        .unwrap();
    let split: Vec<(String, i64)> = sqlx::query_as(
        "SELECT claimed_by, count(*) FROM deliveries GROUP BY claimed_by ORDER BY claimed_by",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let doubles = received.len() as i64 - sent;
    let bound = 10_000.0 / 128.0 * 0.050;
    let took = (last - due).num_milliseconds() as f64 / 1000.0;
    println!(
        "ha burst: 2 instances on PostgreSQL, 10,000 pools due at one instant, fake 50 ms, max_in_flight 64 each: all claimed at due {:+} ms; {} requests, {sent} sent, {doubles} doubles; rows per instance {:?}; all sent {took:.2} s after due = {:.2}x the bound {bound:.2} s",
        (claimed_at - due).num_milliseconds(),
        received.len(),
        split.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        took / bound,
    );
    took / bound
}

async fn lateness_side_by_side(base: &str) {
    let secs = seconds("BENCH_SECONDS", 10);
    let (mut sqlite, mut postgres) = (Vec::new(), Vec::new());
    for pair in 0..3 {
        sqlite.push(every_second_on(Setup::new().await, secs, 64).await);
        let setup = postgres_setup(base, &format!("every{pair}")).await;
        postgres.push(every_second_on(setup, secs, 64).await);
    }
    let mut ratios: Vec<f64> = postgres.iter().zip(&sqlite).map(|(p, s)| p / s).collect();
    ratios.sort_by(f64::total_cmp);
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        pct(&v, 0.5)
    };
    println!(
        "ha every-second: p99 lateness ms, 3 pairs in one run: SQLite {sqlite:.1?} (median {:.1}), PostgreSQL {postgres:.1?} (median {:.1}); PostgreSQL / SQLite per pair {ratios:.2?}",
        median(&sqlite),
        median(&postgres),
    );
}
