//! The listener: `/metrics` agrees with the database, `/healthz` turns 503 while the
//! scheduler is stalled (a held database lock) and back, `/readyz` after startup.

use std::time::Duration;

use crate::fake::Reply;
use crate::helpers::*;

/// The value of the sample `name{labels}` (labels as written, in order), 0 if absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn with_listen(env: &TestEnv, extra: &str, port: u16) -> std::path::PathBuf {
    listening(&env.write_config(extra), port)
}

#[tokio::test]
async fn metrics_agree_with_the_database() {
    let env = TestEnv::new().await;
    env.fake
        .script([Reply::error(500, "WKS.0500"), Reply::error(400, "WKS.0400")]);
    let at = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let trigger = format!("at = \"{at}\"");
    let schedules = format!(
        "[jobs]\nenabled = false\n\n{}{}{}",
        schedule_toml("one", &trigger, &["p-1"], ""),
        schedule_toml("two", &trigger, &["p-2"], ""),
        schedule_toml("later", "cron = \"0 0 3 * * *\"", &["p-3"], ""),
    );
    let port = free_port();
    let config = with_listen(&env, &schedules, port);
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    let done = wait_for(10, || async {
        count_status(&db, "sent").await + count_status(&db, "failed").await == 2
    })
    .await;
    assert!(done, "{}", daemon.logs());
    let (code, text) = http_get(port, "/metrics").await;
    assert_eq!(code, 200, "{text}");
    let rows = deliveries(&db).await;
    for row in &rows {
        let series = format!(
            "workspace_notifier_deliveries_total{{schedule=\"{}\",workspace=\"default\",status=\"{}\"}}",
            row.schedule_id, row.status
        );
        assert_eq!(sample(&text, &series), 1.0, "{series} in\n{text}");
    }
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts")
        .fetch_one(&db)
        .await
        .unwrap();
    let counted: f64 = ["2xx", "4xx", "5xx"]
        .iter()
        .map(|o| {
            sample(
                &text,
                &format!(
                    "workspace_notifier_attempts_total{{workspace=\"default\",outcome=\"{o}\"}}"
                ),
            )
        })
        .sum();
    assert_eq!(counted, attempts as f64, "{text}");
    assert_eq!(
        sample(
            &text,
            "workspace_notifier_delivery_lateness_seconds_count{workspace=\"default\"}"
        ),
        2.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "workspace_notifier_schedule_next_fire_timestamp_seconds{schedule=\"later\"}"
        ) > 0.0
    );
    assert_eq!(
        sample(&text, "workspace_notifier_build_info{version=\"0.1.0\"}"),
        1.0
    );
    let sent = rows.iter().find(|r| r.status == "sent").unwrap();
    let last = format!(
        "workspace_notifier_schedule_last_success_timestamp_seconds{{schedule=\"{}\"}}",
        sent.schedule_id
    );
    assert!(sample(&text, &last) > 0.0, "{text}");
    assert_eq!(http_get(port, "/readyz").await.0, 200);
    assert_eq!(daemon.stop(10).await, Some(0));
}

#[tokio::test]
async fn missed_occurrences_are_counted() {
    let env = TestEnv::new().await;
    let schedule = schedule_toml("tick", "every = \"1s\"", &["p-1"], "misfire_grace = \"0s\"");
    let port = free_port();
    let config = with_listen(&env, &schedule, port);
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    assert!(wait_for(10, || async { count_status(&db, "sent").await >= 2 }).await);
    assert_eq!(daemon.stop(10).await, Some(0));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let daemon = env.spawn_daemon(&config).await;
    assert!(wait_for(10, || async { count_status(&db, "missed").await >= 1 }).await);
    let (_, text) = http_get(port, "/metrics").await;
    let missed = count_status(&db, "missed").await as f64;
    assert_eq!(
        sample(
            &text,
            "workspace_notifier_deliveries_total{schedule=\"tick\",workspace=\"default\",status=\"missed\"}"
        ),
        missed,
        "{text}"
    );
    assert_eq!(daemon.stop(10).await, Some(0));
}

#[tokio::test]
async fn healthz_fails_while_the_scheduler_is_stalled_and_recovers() {
    let env = TestEnv::new().await;
    if !env.sqlite_only("healthz_fails_while_the_scheduler_is_stalled_and_recovers") {
        return;
    }
    let port = free_port();
    let config = with_listen(
        &env,
        &schedule_toml("tick", "every = \"1s\"", &["p-1"], ""),
        port,
    );
    let daemon = env.spawn_daemon(&config).await;
    assert!(wait_for(10, || async { http_get(port, "/healthz").await.0 == 200 }).await);
    // Another process holds the write lock: the next claim waits for it.
    let mut blocker =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", env.db_path().display()))
            .await
            .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let unhealthy = wait_for(15, || async { http_get(port, "/healthz").await.0 == 503 }).await;
    let (_, reason) = http_get(port, "/healthz").await;
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    assert!(unhealthy, "{}", daemon.logs());
    assert!(reason.contains("scheduler loop has not turned"), "{reason}");
    assert!(wait_for(15, || async { http_get(port, "/healthz").await.0 == 200 }).await);
    assert_eq!(daemon.stop(10).await, Some(0));
}

use sqlx::Connection;

/// What the alert rules read exists before anything happens: every schedule's delivery
/// counters at 0 (an alert on `increase(...) > 0` misses a series that first appears at 1),
/// and, once it fired, its latest fire time next to its next one (its interval).
#[tokio::test]
async fn counters_start_at_zero_and_the_latest_fire_is_exported() {
    let env = TestEnv::new().await;
    let schedules = format!(
        "{}{}",
        schedule_toml("every-second", "every = \"1s\"", &["p-1"], ""),
        schedule_toml("nightly", "cron = \"0 0 3 * * *\"", &["p-2"], ""),
    );
    let port = free_port();
    let config = with_listen(&env, &schedules, port);
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    assert!(wait_for(10, || async { count_status(&db, "sent").await >= 2 }).await);
    let (code, text) = http_get(port, "/metrics").await;
    assert_eq!(code, 200, "{text}");
    for status in ["sent", "failed", "missed"] {
        let series = format!(
            "workspace_notifier_deliveries_total{{schedule=\"nightly\",workspace=\"default\",status=\"{status}\"}} 0"
        );
        assert!(text.lines().any(|l| l == series), "{series} in\n{text}");
    }
    let last = sample(
        &text,
        "workspace_notifier_schedule_last_fire_timestamp_seconds{schedule=\"every-second\"}",
    );
    let next = sample(
        &text,
        "workspace_notifier_schedule_next_fire_timestamp_seconds{schedule=\"every-second\"}",
    );
    assert!(
        last > 0.0 && next - last >= 1.0 && next - last <= 2.0,
        "{last} {next}\n{text}"
    );
    assert_eq!(daemon.stop(5).await, Some(0));
}

/// Idle connections are closed (no request within the header timeout), at most 64 are held
/// at once (more are closed on arrival), and /healthz answers once the idle ones are gone.
#[tokio::test]
async fn idle_connections_are_closed_and_capped() {
    use tokio::io::AsyncReadExt;
    let env = TestEnv::new().await;
    let port = free_port();
    let config = with_listen(&env, "", port);
    let daemon = env.spawn_daemon(&config).await;
    let started = std::time::Instant::now();
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        // Each read ends (EOF or reset) when the server closes its side.
        reads.spawn(async move {
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut byte)).await;
            (matches!(read, Ok(Ok(0)) | Ok(Err(_))), started.elapsed())
        });
    }
    let mut closed = Vec::new();
    while let Some(joined) = reads.join_next().await {
        let (ended, after) = joined.unwrap();
        assert!(ended, "an idle connection stayed open for 20 s");
        closed.push(after);
    }
    let at_once = closed
        .iter()
        .filter(|t| **t < Duration::from_secs(3))
        .count();
    let by_timeout = closed
        .iter()
        .filter(|t| **t >= Duration::from_secs(4))
        .count();
    assert_eq!((at_once, by_timeout), (36, 64), "{closed:?}");
    let (code, body) = http_get(port, "/healthz").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(daemon.stop(5).await, Some(0));
}

/// After `maintenance cancel`, `status` and the next-fire gauge announce the first message
/// that will really go out (the daemon skips the cancelled one), not the cancelled warning.
#[tokio::test]
async fn status_and_the_next_fire_gauge_skip_a_cancelled_occurrence() {
    let env = TestEnv::new().await;
    let port = free_port();
    let config = with_listen(&env, "", port);
    let c = config.to_str().unwrap();
    // A daily window 2-3 hours ahead: its 1h warning is always still to come (a fixed hour
    // made this fail when run between the warning and the start).
    use chrono::Timelike;
    let hour = (chrono::Utc::now() + chrono::TimeDelta::hours(3)).hour();
    let cron = format!("0 0 {hour} * * *");
    let add = env
        .run(&[
            "maintenance",
            "add",
            "--config",
            c,
            "--id",
            "nightly",
            "--cron",
            &cron,
            "--duration",
            "1h",
            "--notify-before",
            "1h",
            "--pool",
            POOL,
            "--message",
            "m",
        ])
        .await;
    assert_eq!(add.status.code(), Some(0), "{}", stderr(&add));
    let daemon = env.spawn_daemon(&config).await;
    let cancel = env
        .run(&["maintenance", "cancel", "--config", c, "nightly"])
        .await;
    assert_eq!(cancel.status.code(), Some(0), "{}", stderr(&cancel));
    let windows = maintenance_list(&env, c).await;
    let upcoming = windows[0]["upcoming"].as_array().unwrap();
    assert_eq!(upcoming[0]["cancelled"], true);
    let expected = upcoming
        .iter()
        .find(|u| u["cancelled"] == false)
        .and_then(|u| u["due_at"].as_str())
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let gauge = "workspace_notifier_schedule_next_fire_timestamp_seconds{schedule=\"nightly\"}";
    let announced = wait_for(10, || async {
        let (_, text) = http_get(port, "/metrics").await;
        sample(&text, gauge) == expected.timestamp() as f64
    })
    .await;
    let (_, text) = http_get(port, "/metrics").await;
    assert!(announced, "expected {expected} in\n{text}");
    let status = env.run(&["status", "--config", c, "--json"]).await;
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let text = doc.to_string();
    let row = doc["schedules"]
        .as_array()
        .or_else(|| doc.as_array())
        .and_then(|rows| rows.iter().find(|r| r["id"] == "nightly"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        row["next"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        expected,
        "{text}"
    );
    assert_eq!(daemon.stop(5).await, Some(0));
}

/// Every metric says what it is (`# HELP`), and the database and the last reload are
/// reported: a refused reload turns `config_last_reload_successful` to 0, a good one back.
#[tokio::test]
async fn every_metric_has_help_and_reloads_and_the_database_are_reported() {
    let env = TestEnv::new().await;
    let port = free_port();
    let schedule = schedule_toml("daily", "cron = \"0 0 9 * * *\"", &["p-1"], "");
    let config = with_listen(&env, &schedule, port);
    let daemon = env.spawn_daemon(&config).await;
    let (_, text) = http_get(port, "/metrics").await;
    let types: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(types.len() >= 8, "{text}");
    for name in types {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no HELP for {name}:\n{text}"
        );
    }
    let has = |text: &str, line: &str| text.lines().any(|l| l == line);
    assert!(has(&text, "workspace_notifier_database_up 1"), "{text}");
    assert!(
        has(&text, "workspace_notifier_config_last_reload_successful 1"),
        "{text}"
    );
    assert!(text.contains("workspace_notifier_config_last_reload_success_timestamp_seconds "));
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("0 0 9 * * *", "bogus")).unwrap();
    daemon.signal("HUP");
    let refused = wait_for(10, || async {
        has(
            &http_get(port, "/metrics").await.1,
            "workspace_notifier_config_last_reload_successful 0",
        )
    })
    .await;
    assert!(refused, "{}", daemon.logs());
    std::fs::write(&config, &good).unwrap();
    daemon.signal("HUP");
    let applied = wait_for(10, || async {
        has(
            &http_get(port, "/metrics").await.1,
            "workspace_notifier_config_last_reload_successful 1",
        )
    })
    .await;
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(applied);
}

#[tokio::test]
async fn deliveries_made_by_commands_appear_in_the_next_scrape_once() {
    let env = TestEnv::new().await;
    let port = free_port();
    let config = with_listen(&env, "[jobs]\nenabled = false\n", port);
    // A send before the daemon starts is history, not counted.
    env.create_database(&config).await;
    let before = env.send(&config, "before").await;
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
    let daemon = env.spawn_daemon(&config).await;
    let series = "workspace_notifier_deliveries_total{schedule=\"manual\",workspace=\"default\",status=\"sent\"}";
    let (_, text) = http_get(port, "/metrics").await;
    assert_eq!(sample(&text, series), 0.0, "{text}");
    let sent = env.send(&config, "now").await;
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    let (_, text) = http_get(port, "/metrics").await;
    assert_eq!(sample(&text, series), 1.0, "{text}");
    // Counted once, however often it is scraped.
    let (_, text) = http_get(port, "/metrics").await;
    assert_eq!(sample(&text, series), 1.0, "{text}");
    assert_eq!(daemon.stop(10).await, Some(0));
}
