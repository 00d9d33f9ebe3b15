//! `pages`: the console's pages and API lists at 1,000 schedules (the config file) and 100,000
//! deliveries (BENCH_PAGES_ROWS), served by the release binary on SQLite: each page asked 10
//! times after a warm-up, median and range of the answer time, against `/readyz` (the
//! baseline: a request that reads nothing) in the same run. Target: each page under 300 ms.

use std::time::{Duration, Instant};

pub(crate) fn run() {
    let rows = super::seconds("BENCH_PAGES_ROWS", 100_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pages.db");
    let config = dir.path().join("pages.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{}\"\ndry_run = true\nlisten = \"127.0.0.1:{port}\"\n\n[api]\nenabled = true\n\n{}",
            db.display(),
            super::schedules(1000, "cron = \"0 0 3 * * *\"", 1)
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let binary = env!("CARGO_BIN_EXE_workspace-notifier");
    // The token creates the database; then the deliveries are written straight into it.
    let out = std::process::Command::new(binary)
        .args([
            "token", "create", "--name", "bench", "--role", "operator", "--config", c,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    super::history::fill(&db, rows);
    let mut daemon = std::process::Command::new(binary)
        .args(["run", "--config", c])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(measure(port, &token, rows));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
}

async fn measure(port: u16, token: &str, rows: u64) {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for _ in 0..300 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = client
        .post(format!("{base}/ui/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let last_page = rows.div_ceil(100).to_string();
    let middle = (rows / 2).to_string();
    let pages: Vec<(String, String)> = vec![
        ("/readyz (baseline)".into(), "/readyz".into()),
        ("overview".into(), "/ui/".into()),
        ("schedules, page 1".into(), "/ui/schedules".into()),
        ("schedules, page 10".into(), "/ui/schedules?page=10".into()),
        ("schedules, search".into(), "/ui/schedules?q=s00999".into()),
        ("maintenance".into(), "/ui/maintenance".into()),
        ("deliveries, page 1".into(), "/ui/deliveries".into()),
        (
            format!("deliveries, page {last_page} (last)"),
            format!("/ui/deliveries?page={last_page}"),
        ),
        (
            "deliveries, by status".into(),
            "/ui/deliveries?status=sent".into(),
        ),
        ("one delivery".into(), format!("/ui/deliveries/{middle}")),
        ("audit".into(), "/ui/audit".into()),
        ("API schedules".into(), "/api/v1/schedules".into()),
        ("API status".into(), "/api/v1/status".into()),
        (
            "API deliveries".into(),
            "/api/v1/deliveries?limit=100".into(),
        ),
    ];
    let mut baseline = 0.0;
    for (name, path) in pages {
        let mut times = Vec::new();
        for i in 0..11 {
            let started = Instant::now();
            let answer = client
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = answer.status();
            let body = answer.bytes().await.unwrap();
            assert!(status.is_success(), "{path}: {status}");
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if i > 0 {
                times.push((ms, body.len()));
            }
        }
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        let median = times[times.len() / 2].0;
        if baseline == 0.0 {
            baseline = median;
        }
        println!(
            "pages: {name}: {median:.2} ms ({:.2}-{:.2}), {} KiB, {:.0}x the baseline",
            times[0].0,
            times[times.len() - 1].0,
            times[0].1 / 1024,
            median / baseline
        );
    }
}
