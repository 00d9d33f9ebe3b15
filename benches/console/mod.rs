//! `console`: does the console's API starve the scheduler? The fire-lateness benchmark of
//! `every-second` (1,000 schedules firing every second, the release binary, SQLite) run
//! alternately without the API and with it serving 200 requests a second (status, schedules,
//! agenda and deliveries in turn, each a viewer token's request), 3 rounds each in one run.
//! Prints each run's p99 lateness, the medians and spread, the per-round ratios, and how the
//! API answered (answers, errors, p50/p99 answer time).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Setup, lateness_ms, pct, run_binary, schedules};

/// Requests a second while loaded.
const RATE: u64 = 200;

const PATHS: [&str; 4] = [
    "/api/v1/status",
    "/api/v1/schedules",
    "/api/v1/agenda",
    "/api/v1/deliveries?limit=50",
];

pub(crate) async fn run(secs: u64) {
    let (mut base, mut loaded, mut answered) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        base.push(one(secs, false).await.0);
        let (p99, api) = one(secs, true).await;
        loaded.push(p99);
        answered.push(api.expect("the loaded run reports the API's answers"));
    }
    let ratios: Vec<f64> = base.iter().zip(&loaded).map(|(b, l)| l / b).collect();
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        pct(&s, 0.5)
    };
    let spread = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        format!("{lo:.1}-{hi:.1}")
    };
    println!(
        "console: fire lateness p99 ms without the API {:.1} ({}), with {RATE} API requests/s {:.1} ({}); ratio per round {:?}, median {:.2}",
        median(&base),
        spread(&base),
        median(&loaded),
        spread(&loaded),
        ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>(),
        median(&ratios)
    );
    for (i, a) in answered.iter().enumerate() {
        println!(
            "console: round {}: {} requests, {} answered 200, {} errors; answer ms p50 {:.1} p99 {:.1} max {:.1}",
            i + 1,
            a.sent,
            a.ok,
            a.sent - a.ok,
            a.p50,
            a.p99,
            a.max
        );
    }
}

/// How the API answered during one loaded run.
struct Answers {
    sent: usize,
    ok: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

/// One run of `secs`: the p99 fire lateness in ms, and with `api` how it answered.
async fn one(secs: u64, api: bool) -> (f64, Option<Answers>) {
    let setup = Setup::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = setup.config(64, &schedules(1000, "cron = \"* * * * * *\"", 1));
    let mut token = String::new();
    if api {
        let text = std::fs::read_to_string(&config).unwrap().replacen(
            "[daemon]\n",
            &format!("[daemon]\nlisten = \"127.0.0.1:{port}\"\n"),
            1,
        );
        std::fs::write(&config, format!("{text}\n[api]\nenabled = true\n")).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_workspace-notifier"))
            .args(["token", "create", "--name", "bench", "--role", "viewer"])
            .args(["--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    }
    let times: Arc<Mutex<Vec<Option<f64>>>> = Arc::default();
    let load = api.then(|| {
        let (times, token) = (Arc::clone(&times), token.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            // From when the daemon is up to just before it stops.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
            let requests = (secs.saturating_sub(3)) * RATE;
            let mut inflight = tokio::task::JoinSet::new();
            for i in 0..requests {
                tick.tick().await;
                let url = format!("http://127.0.0.1:{port}{}", PATHS[i as usize % PATHS.len()]);
                let (client, token, times) = (client.clone(), token.clone(), Arc::clone(&times));
                inflight.spawn(async move {
                    let started = Instant::now();
                    let ok = client
                        .get(url)
                        .bearer_auth(token)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    times.lock().unwrap().push(ok.then_some(ms));
                });
            }
            while inflight.join_next().await.is_some() {}
        })
    });
    let log = setup.dir.path().join("daemon.log");
    run_binary(&config, &log, Duration::from_secs(secs)).await;
    if let Some(load) = load {
        let _ = load.await;
    }
    let (late, _) = lateness_ms(&setup).await;
    let p99 = pct(&late, 0.99);
    let answers = api.then(|| {
        let all = times.lock().unwrap();
        let mut ok: Vec<f64> = all.iter().flatten().copied().collect();
        ok.sort_by(f64::total_cmp);
        Answers {
            sent: all.len(),
            ok: ok.len(),
            p50: pct(&ok, 0.5),
            p99: pct(&ok, 0.99),
            max: pct(&ok, 1.0),
        }
    });
    (p99, answers)
}
