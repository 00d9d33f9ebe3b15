//! Maintenance windows with second-level leads, run by the real daemon against the fake.

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use std::time::Duration;

use crate::fake::Reply;
use crate::helpers::*;

fn window_toml(id: &str, start: DateTime<Utc>, leads: &[&str], extra: &str) -> String {
    let leads: Vec<String> = leads.iter().map(|l| format!("{l:?}")).collect();
    format!(
        "[[maintenance_windows]]\nid = \"{id}\"\nstart = \"{}\"\nduration = \"2s\"\nnotify_before = [{}]\npools = [\"{POOL}\"]\nmessage = \"Restart at {{start}}, {{time_left}} left ({{minutes_left}} min)\"\n{extra}\n",
        start.to_rfc3339(),
        leads.join(", ")
    )
}

fn whole_seconds_ahead(secs: i64) -> DateTime<Utc> {
    (Utc::now() + TimeDelta::seconds(secs))
        .with_nanosecond(0)
        .unwrap()
        + TimeDelta::seconds(1)
}

#[tokio::test]
async fn a_window_sends_each_warning_at_its_lead_with_its_countdown_then_the_end_message() {
    let env = TestEnv::new().await;
    let start = whole_seconds_ahead(4);
    let config = env.write_config(&window_toml(
        "soon",
        start,
        &["3s", "2s", "1s"],
        "end_message = \"Finished at {end}\"",
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(10, || async { env.fake.received().len() == 4 }).await,
        "{}",
        daemon.logs()
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    let got = env.fake.received();
    let hhmm = start.format("%H:%M").to_string();
    let end = (start + TimeDelta::seconds(2)).format("%H:%M").to_string();
    let expected = [
        (-3, format!("Restart at {hhmm}, 3 seconds left (1 min)")),
        (-2, format!("Restart at {hhmm}, 2 seconds left (1 min)")),
        (-1, format!("Restart at {hhmm}, 1 second left (1 min)")),
        (2, format!("Finished at {end}")),
    ];
    for (received, (offset, text)) in got.iter().zip(expected) {
        let due = start + TimeDelta::seconds(offset);
        let late = received.at - due;
        assert!(
            late >= TimeDelta::zero() && late < TimeDelta::milliseconds(500),
            "{offset}s: arrived {late} after due"
        );
        assert_eq!(received.notification_text(), text);
        assert_eq!(received.auth_problem, None);
    }
    let rows = deliveries(&env.db().await).await;
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r.schedule_id == "soon" && r.status == "sent")
    );
    assert_eq!(
        rows[0].message,
        format!("Restart at {hhmm}, 3 seconds left (1 min)"),
        "the rendered text is stored"
    );
}

#[tokio::test]
async fn cancelling_before_the_second_warning_sends_the_notice_and_no_more_warnings() {
    let env = TestEnv::new().await;
    let start = whole_seconds_ahead(5);
    let config = env.write_config(&window_toml("cancel-me", start, &["4s", "2s"], ""));
    let c = config.to_str().unwrap();
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(8, || async { env.fake.received().len() == 1 }).await,
        "{}",
        daemon.logs()
    );
    let out = env
        .run(&[
            "maintenance",
            "cancel",
            "--config",
            c,
            "cancel-me",
            "--notice",
            "Tonight's maintenance is cancelled.",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    tokio::time::sleep_until(
        tokio::time::Instant::now()
            + (start - Utc::now()).to_std().unwrap_or_default()
            + Duration::from_secs(1),
    )
    .await;
    assert_eq!(daemon.stop(5).await, Some(0));
    let texts: Vec<String> = env
        .fake
        .received()
        .iter()
        .map(|r| r.notification_text())
        .collect();
    assert_eq!(
        texts.len(),
        2,
        "first warning and the notice only: {texts:?}"
    );
    assert!(texts[0].contains("4 seconds left"));
    assert_eq!(texts[1], "Tonight's maintenance is cancelled.");
    let rows = deliveries(&env.db().await).await;
    assert!(
        rows.iter()
            .all(|r| !r.message.contains("2 seconds left") || r.status == "cancelled"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_warning_whose_retries_run_into_the_next_warning_ends_failed() {
    let env = TestEnv::new().await;
    env.fake
        .script([Reply::error(500, "WKS.0500"), Reply::error(500, "WKS.0500")]);
    let start = whole_seconds_ahead(5);
    let config = env.write_config_with(
        &env.fake.endpoint(),
        "max_attempts = 8\ninitial_delay = \"1s\"\nmax_delay = \"2s\"\nmax_elapsed = \"1m\"",
        &window_toml("retry-window", start, &["4s", "2s"], ""),
    );
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        wait_for(10, || async { env.fake.received().len() == 3 }).await,
        "{}",
        daemon.logs()
    );
    assert!(
        wait_for(3, || async {
            deliveries(&env.db().await)
                .await
                .iter()
                .all(|r| r.status != "pending")
        })
        .await
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    let mut rows = deliveries(&env.db().await).await;
    rows.sort_by(|a, b| a.due_at.cmp(&b.due_at));
    let first = &rows[0];
    assert_eq!(
        (first.status.as_str(), first.attempts),
        ("failed", 2),
        "{rows:?}"
    );
    // Each attempt told the time left when it was made: the retry a second later says less.
    let texts: Vec<String> = env
        .fake
        .received()
        .iter()
        .map(|r| r.notification_text())
        .collect();
    assert!(texts[0].contains("4 seconds left"), "{texts:?}");
    assert!(!texts[1].contains("4 seconds left"), "{texts:?}");
    assert!(
        first.error_msg.as_deref().unwrap().contains("deadline"),
        "{:?}",
        first.error_msg
    );
    let second = &rows[1];
    assert!(second.message.contains("2 seconds left"), "{rows:?}");
    assert_eq!(second.status, "sent", "the next warning still goes out");
}

#[tokio::test]
async fn database_windows_are_listed_with_rendered_warnings_and_cancel_only_the_next_occurrence() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let c = config.to_str().unwrap();
    let add = env
        .run(&[
            "maintenance",
            "add",
            "--config",
            c,
            "--id",
            "weekly",
            "--cron",
            "0 0 22 * * Sat",
            "--timezone",
            "Europe/Berlin",
            "--duration",
            "2h",
            "--notify-before",
            "1h",
            "--notify-before",
            "15m",
            "--pool",
            POOL,
            "--message",
            "Restart at {start} on {date}: {time_left} left",
        ])
        .await;
    assert_eq!(add.status.code(), Some(0), "{}", stderr(&add));
    let cancel = env
        .run(&["maintenance", "cancel", "--config", c, "weekly"])
        .await;
    assert_eq!(cancel.status.code(), Some(0), "{}", stderr(&cancel));
    let windows = maintenance_list(&env, c).await;
    let upcoming = windows[0]["upcoming"].as_array().unwrap();
    assert_eq!(
        upcoming.len(),
        4,
        "two warnings for each of two occurrences"
    );
    assert!(
        upcoming[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Restart at 22:00 on ")
    );
    assert!(
        upcoming[0]["text"]
            .as_str()
            .unwrap()
            .ends_with(": 1 hour left")
    );
    let cancelled: Vec<bool> = upcoming
        .iter()
        .map(|u| u["cancelled"].as_bool().unwrap())
        .collect();
    assert_eq!(
        cancelled,
        [true, true, false, false],
        "only the next occurrence is cancelled"
    );
    let bad = env
        .run(&[
            "maintenance",
            "add",
            "--config",
            c,
            "--id",
            "bad",
            "--start",
            "2030-01-01T00:00:00Z",
            "--duration",
            "1h",
            "--notify-before",
            "10m",
            "--pool",
            POOL,
            "--message",
            "in {minutes} min",
        ])
        .await;
    assert_eq!(bad.status.code(), Some(78));
    assert!(
        stderr(&bad).contains("--message: window \"bad\": unknown variable {minutes}"),
        "{}",
        stderr(&bad)
    );
    let check = env.run(&["check", "--config", c]).await;
    assert!(
        stdout(&check).contains("warning 15 minutes before"),
        "{}",
        stdout(&check)
    );
}

#[tokio::test]
async fn a_warning_cancelled_between_its_claim_and_its_due_time_is_not_sent() {
    use workspace_notifier::domain::{PoolId, ScheduleId};
    use workspace_notifier::engine::delivery::Outcome;
    use workspace_notifier::engine::shutdown::Shutdown;
    use workspace_notifier::store::NewDelivery;
    use workspace_notifier::{config, engine::wiring, platform::clock::Clock};

    let env = TestEnv::new().await;
    let config = config::load(&env.write_config("")).unwrap();
    let store = wiring::open_store(&config).await.unwrap();
    let due = Utc::now() + TimeDelta::milliseconds(300);
    let warning = NewDelivery {
        may_be_cancelled: true,
        ..NewDelivery::new(
            (
                ScheduleId::parse("w").unwrap(),
                workspace_notifier::domain::WorkspaceName::default_name(),
            ),
            workspace_notifier::domain::Target::Pool(PoolId::parse(POOL).unwrap()),
            (due, due + TimeDelta::seconds(10)),
            "Restart in 5 minutes".into(),
        )
    };
    let claimed = store
        .claim_deliveries(&[warning], &[], Utc::now())
        .await
        .unwrap();
    let closed = store
        .cancel_window("w", Some(due), Some((due, due)), None, Utc::now())
        .await
        .unwrap();
    assert_eq!(closed, 1);
    let sender = std::sync::Arc::new(wiring::build_routes(&config, &wiring::process_env).unwrap());
    let deliverer = wiring::build_deliverer(&config, store.clone(), sender, Clock::system());
    let outcome = deliverer
        .deliver(claimed[0].clone(), &Shutdown::default())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::AlreadyDone);
    assert!(env.fake.received().is_empty());
    assert_eq!(deliveries(&env.db().await).await[0].status, "cancelled");
}

#[tokio::test]
async fn a_warning_still_queued_for_a_request_slot_at_its_deadline_is_not_sent_late() {
    use workspace_notifier::domain::{PoolId, ScheduleId};
    use workspace_notifier::engine::delivery::Outcome;
    use workspace_notifier::engine::shutdown::Shutdown;
    use workspace_notifier::store::NewDelivery;
    use workspace_notifier::{config, engine::wiring, platform::clock::Clock};

    let env = TestEnv::new().await;
    env.fake.script([Reply::Delay(
        Duration::from_millis(1500),
        Box::new(Reply::Accept),
    )]);
    let mut config = config::load(&env.write_config("")).unwrap();
    config.daemon.max_in_flight = 1; // the slow first request holds the only slot
    let store = wiring::open_store(&config).await.unwrap();
    let now = Utc::now();
    let row = |pool: &str, deadline: TimeDelta| {
        NewDelivery::new(
            (
                ScheduleId::parse("w").unwrap(),
                workspace_notifier::domain::WorkspaceName::default_name(),
            ),
            workspace_notifier::domain::Target::Pool(PoolId::parse(pool).unwrap()),
            (now, now + deadline),
            format!("to {pool}"),
        )
    };
    let claimed = store
        .claim_deliveries(
            &[
                row("slow", TimeDelta::seconds(30)),
                row("tight", TimeDelta::milliseconds(500)),
            ],
            &[],
            now,
        )
        .await
        .unwrap();
    let sender = std::sync::Arc::new(wiring::build_routes(&config, &wiring::process_env).unwrap());
    let deliverer = std::sync::Arc::new(wiring::build_deliverer(
        &config,
        store.clone(),
        sender,
        Clock::system(),
    ));
    let first = {
        let (deliverer, d) = (deliverer.clone(), claimed[0].clone());
        tokio::spawn(async move { deliverer.deliver(d, &Shutdown::default()).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = deliverer
        .deliver(claimed[1].clone(), &Shutdown::default())
        .await
        .unwrap();
    assert!(
        matches!(&second, Outcome::Failed { reason } if reason.contains("deadline")),
        "{second:?}"
    );
    assert!(matches!(first.await.unwrap(), Outcome::Sent { .. }));
    let texts: Vec<String> = env
        .fake
        .received()
        .iter()
        .map(|r| r.notification_text())
        .collect();
    assert_eq!(texts, ["to slow"], "the tight one never went out");
}

/// A start written with an offset and no zone is announced in that offset's time, not in
/// daemon.timezone (UTC here); an offset of whole hours only, or the zone must be named.
#[tokio::test]
async fn a_start_with_an_offset_and_no_zone_is_announced_in_its_own_time() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let c = config.to_str().unwrap();
    let add = |id: &'static str, start: &'static str| {
        let env = &env;
        async move {
            env.run(&[
                "maintenance",
                "add",
                "--config",
                c,
                "--id",
                id,
                "--start",
                start,
                "--duration",
                "1h",
                "--notify-before",
                "15m",
                "--pool",
                POOL,
                "--message",
                "Desktops restart at {start}",
            ])
            .await
        }
    };
    let out = add("shanghai", "2030-01-05T22:00:00+08:00").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let windows = maintenance_list(&env, c).await;
    assert_eq!(windows[0]["timezone"], "Etc/GMT-8");
    assert_eq!(
        windows[0]["upcoming"][0]["text"],
        "Desktops restart at 22:00"
    );
    let out = add("kolkata", "2030-01-05T22:00:00+05:30").await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("--timezone"), "{}", stderr(&out));
    // The default zone's own offset keeps the default zone.
    let out = add("utc", "2030-01-05T22:00:00Z").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A window already under way when the service first loads it: nobody was warned or told it
/// started, so its end message is not sent either, and the previews do not list it.
#[tokio::test]
async fn no_end_message_for_a_window_that_started_before_it_was_loaded() {
    let env = TestEnv::new().await;
    let start = chrono::Utc::now() - chrono::TimeDelta::seconds(56);
    let window = format!(
        "[[maintenance_windows]]\nid = \"under-way\"\nstart = \"{}\"\nduration = \"1m\"\nnotify_before = [\"1h\"]\npools = [\"{POOL}\"]\nmessage = \"restart in {{time_left}}\"\nend_message = \"Maintenance finished\"\n",
        start.to_rfc3339()
    );
    let config = env.write_config(&window);
    let c = config.to_str().unwrap();
    let out = env.run(&["check", "--config", c, "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let upcoming = doc["maintenance_windows"][0]["upcoming"]
        .as_array()
        .unwrap();
    assert!(upcoming.is_empty(), "{upcoming:?}");
    let daemon = env.spawn_daemon(&config).await;
    let logged = wait_for(15, || async {
        daemon.logs().contains("no end message without its start")
    })
    .await;
    assert!(logged, "{}", daemon.logs());
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(env.fake.received().is_empty(), "something was sent");
    assert!(deliveries(&env.db().await).await.is_empty());
}
