//! `history`: 200,000 deliveries (BENCH_HISTORY_ROWS) listed in full by `history --limit N`
//! as a table and as JSON, against `history --limit 50` (the baseline) in the same run: wall
//! time and peak RSS of the command, three runs each, median and range. Target: under 100 MB
//! and a few seconds for the whole list.

use super::scale::measured;

pub(crate) fn run() {
    let rows = super::seconds("BENCH_HISTORY_ROWS", 200_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let config = dir.path().join("history.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{}\"\ndry_run = true\n",
            db.display()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    // The schema: a paused schedule added through the binary creates the database.
    measured(&[
        "schedule",
        "add",
        "--config",
        c,
        "--id",
        "bench",
        "--cron",
        "0 0 3 * * *",
        "--pool",
        "p",
        "--message",
        "m",
        "--paused",
    ]);
    fill(&db, rows);
    let limit = rows.to_string();
    let cases: [(&str, Vec<&str>); 3] = [
        ("limit 50 (baseline)", vec!["history", "-n", "50"]),
        ("table", vec!["history", "-n", &limit]),
        ("json", vec!["history", "-n", &limit, "--json"]),
    ];
    let mut baseline = (0.0, 0.0);
    for (name, args) in cases {
        let mut all = args.clone();
        all.extend(["--no-pager", "--config", c]);
        let mut runs: Vec<(f64, u64)> = (0..3).map(|_| measured(&all)).collect();
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let seconds: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let mut mib: Vec<f64> = runs.iter().map(|r| r.1 as f64 / 1024.0).collect();
        mib.sort_by(f64::total_cmp);
        let (s, m) = (seconds[1], mib[1]);
        if baseline.0 == 0.0 {
            baseline = (s, m);
        }
        println!(
            "history: {rows} rows, {name}: {s:.2} s ({:.2}-{:.2}), peak RSS {m:.1} MiB ({:.1}-{:.1}); {:.1}x the baseline's time, {:.1}x its memory",
            seconds[0],
            seconds[2],
            mib[0],
            mib[2],
            s / baseline.0,
            m / baseline.1
        );
    }
}

/// `n` sent deliveries, a minute apart, with a message of a realistic length.
pub(crate) fn fill(db: &std::path::Path, n: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .connect()
            .await
            .unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
             INSERT INTO deliveries (schedule_id, pool_id, target, due_at, deadline_at, message,
                 status, attempts, created_at, finished_at, workspace, job_id)
             SELECT 'sched-' || (i % 50), 'a130ab3a-72bf-4b71-baa9-af4987c8e338',
                 'pool:a130ab3a-72bf-4b71-baa9-af4987c8e338',
                 strftime('%Y-%m-%dT%H:%M:%S.000Z', 1700000000 + i * 60, 'unixepoch'),
                 strftime('%Y-%m-%dT%H:%M:%S.000Z', 1700000000 + i * 60 + 300, 'unixepoch'),
                 'Desktops restart at 22:00 tonight for maintenance; please save your work and log off before then.',
                 'sent', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'default',
                 'job-' || i
             FROM n",
        )
        .bind(n as i64)
        .execute(&mut conn)
        .await
        .unwrap();
    });
}
