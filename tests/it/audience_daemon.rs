//! Audiences through the daemon: selectors resolved ahead of the due time by the real
//! scheduler, sent in desktop batches, recorded with what was matched and who was left out,
//! the guard, the empty match, and a listing that fails (recovering in time, or not).

use chrono::{TimeDelta, Utc};
use sqlx::Row;

use crate::audience::estate;
use crate::fake::Reply;
use crate::helpers::*;

/// A one-shot schedule `secs` from now with the given selector keys.
pub(crate) fn one_shot(id: &str, secs: i64, pools: &[&str], keys: &str) -> String {
    let at = (Utc::now() + TimeDelta::seconds(secs)).to_rfc3339();
    schedule_toml(id, &format!("at = \"{at}\""), pools, keys)
}

/// (target, status, selector, matched, targeted, error_msg) of every delivery, by id.
pub(crate) async fn audience_rows(
    env: &TestEnv,
) -> Vec<(
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
)> {
    let db = env.db().await;
    sqlx::query("SELECT target, status, selector, audience_matched, audience_targeted, error_msg FROM deliveries ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get("target"),
                r.get("status"),
                r.get("selector"),
                r.get("audience_matched"),
                r.get("audience_targeted"),
                r.get("error_msg"),
            )
        })
        .collect()
}

pub(crate) async fn ended(env: &TestEnv, rows: usize) -> bool {
    let db = env.db().await;
    wait_for(20, || async {
        let all = deliveries(&db).await;
        all.len() >= rows && all.iter().all(|d| d.status != "pending")
    })
    .await
}

#[tokio::test]
async fn a_tag_selector_is_resolved_ahead_and_sent_by_desktop_id_beside_its_pool() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    // dept=finance and site=sz: every 6th desktop (417); those in pool-a (every 12th) are
    // reached through the pool and are not sent to again by id.
    let config = env.write_config(&format!(
        "[jobs]\nenabled = false\n\n{}",
        one_shot(
            "finance",
            3,
            &["pool-a"],
            "tags = [\"dept=finance\", \"site=sz\"]"
        )
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(ended(&env, 4).await, "{:?}", audience_rows(&env).await);
    assert_eq!(daemon.stop(5).await, Some(0));
    let finance: Vec<String> = (0..2500)
        .filter(|i| i % 6 == 0 && i % 4 != 0)
        .map(|i| format!("d{i:04}"))
        .collect();
    let mut sent: Vec<String> = desktop_sends(&env).concat();
    sent.sort();
    assert_eq!(sent, finance, "each finance desktop once, none of pool-a's");
    assert!(desktop_sends(&env).iter().all(|batch| batch.len() <= 100));
    // The listing happened before the due time, once.
    let lists = env.fake.desktop_requests();
    assert_eq!(lists.len(), 1, "417 desktops: one page");
    let first_send = env.fake.received().iter().map(|r| r.at).min().unwrap();
    assert!(lists[0].at < first_send);
    let rows = audience_rows(&env).await;
    assert_eq!(rows[0].0, "pool:pool-a");
    let batches: Vec<_> = rows
        .iter()
        .filter(|r| r.0.starts_with("desktops:"))
        .collect();
    assert_eq!(batches.len(), finance.len().div_ceil(100));
    for (_, status, selector, matched, targeted, _) in &batches {
        assert_eq!(status, "sent");
        assert_eq!(selector.as_deref(), Some("tags=dept=finance,site=sz"));
        assert_eq!(*matched, Some(417));
        assert!(targeted.unwrap() <= 100);
    }
    let targeted: i64 = batches.iter().map(|r| r.4.unwrap()).sum();
    assert_eq!(targeted as usize, finance.len());
    // The recipients are there from the claim: who got it, and who was left out and why.
    let db = env.db().await;
    let reasons: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM recipients GROUP BY status ORDER BY status")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        reasons,
        [
            ("in_pool".to_owned(), 417 - finance.len() as i64),
            ("targeted".to_owned(), finance.len() as i64)
        ]
    );
}

#[tokio::test]
async fn connected_only_sends_to_connected_desktops_and_records_the_others() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    // Enterprise project ep-1 (every 5th, 500); connected: every 3rd of those (167).
    let config = env.write_config(&format!(
        "[jobs]\nenabled = false\n\n{}",
        one_shot(
            "ep",
            3,
            &[],
            "enterprise_project = \"ep-1\"\naudience = \"connected\""
        )
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(ended(&env, 2).await);
    assert_eq!(daemon.stop(5).await, Some(0));
    let connected: Vec<String> = (0..2500)
        .filter(|i| i % 15 == 0)
        .map(|i| format!("d{i:04}"))
        .collect();
    let mut sent = desktop_sends(&env).concat();
    sent.sort();
    assert_eq!(sent, connected);
    let rows = audience_rows(&env).await;
    assert_eq!(
        rows[0].2.as_deref(),
        Some("enterprise_project=ep-1;audience=connected")
    );
    assert_eq!(rows[0].3, Some(500));
    let db = env.db().await;
    let skipped: i64 =
        sqlx::query_scalar("SELECT count(*) FROM recipients WHERE status = 'not_connected'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(skipped, 500 - connected.len() as i64);
}

#[tokio::test]
async fn the_guard_refuses_a_broadcast_and_an_empty_match_is_recorded() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let config = env.write_config(&format!(
        "[jobs]\nenabled = false\n\n[targets]\nmax_audience = 1000\n\n{}\n{}\n{}",
        one_shot("everyone", 3, &[], "all_desktops = true"),
        one_shot("nobody", 3, &[], "tags = [\"dept=nowhere\"]"),
        one_shot("few", 3, &[], "tags = [\"dept=finance\"]\nmax_audience = 5"),
    ));
    let port = free_port();
    let daemon = env.spawn_daemon(&listening(&config, port)).await;
    assert!(ended(&env, 3).await);
    let expected = [
        "workspace_notifier_audience_refused_total{schedule=\"everyone\",workspace=\"default\"} 1",
        "workspace_notifier_audience_refused_total{schedule=\"few\",workspace=\"default\"} 1",
        "workspace_notifier_audience_refused_total{schedule=\"nobody\",workspace=\"default\"} 0",
        "workspace_notifier_deliveries_total{schedule=\"nobody\",workspace=\"default\",status=\"failed\"} 1",
    ];
    // The counters move just after the rows commit: read until they have (or 5 s).
    let has_all = |text: &str| expected.iter().all(|line| text.lines().any(|l| l == *line));
    wait_for(5, || async { has_all(&http_get(port, "/metrics").await.1) }).await;
    let (_, metrics) = http_get(port, "/metrics").await;
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(desktop_sends(&env).is_empty(), "nothing was sent");
    for line in expected {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
    let rows = audience_rows(&env).await;
    let errors: Vec<String> = rows
        .iter()
        .map(|r| {
            assert_eq!((r.0.as_str(), r.1.as_str()), ("audience", "failed"));
            r.5.clone().unwrap()
        })
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("audience 2500 > max_audience 1000")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("audience 1250 > max_audience 5")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e == "no desktop matched tags=dept=nowhere"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_failing_listing_is_retried_until_it_recovers_before_the_due_time() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    // A 500, a 429, then an answer slower than request_timeout (2 s): a timeout.
    env.fake.script_desktop_lists([
        Reply::error(500, "WKS.0500"),
        Reply::error(429, "WKS.0429"),
        Reply::Delay(
            std::time::Duration::from_secs(3),
            Box::new(Reply::error(503, "WKS.0503")),
        ),
    ]);
    let config = env.write_config(&format!(
        "[jobs]\nenabled = false\n\n{}",
        one_shot("users", 8, &[], "users = [\"user1\", \"user22\"]")
    ));
    let daemon = env.spawn_daemon(&config).await;
    assert!(ended(&env, 1).await);
    assert_eq!(daemon.stop(5).await, Some(0));
    // Three failures, then the answer (a throttled page may be asked again by the pacer),
    // all before the due time.
    let lists = env.fake.desktop_requests();
    assert!(lists.len() >= 4);
    let last_list = lists.iter().map(|r| r.at).max().unwrap();
    let sends: Vec<_> = env
        .fake
        .received()
        .iter()
        .filter(|r| r.path.ends_with("/desktops/notifications"))
        .map(|r| r.at)
        .collect();
    assert!(!sends.is_empty() && sends.iter().all(|at| *at > last_list));
    assert_eq!(
        desktop_sends(&env),
        [vec!["d0001".to_owned(), "d0022".to_owned()]],
        "exact users despite the substring filter"
    );
    let rows = audience_rows(&env).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].1.as_str(), rows[0].3, rows[0].4),
        ("sent", Some(2), Some(2))
    );
}

#[tokio::test]
async fn a_listing_that_fails_past_the_deadline_fails_the_delivery_and_sends_nothing() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    env.fake
        .script_desktop_lists(std::iter::repeat_n(Reply::error(500, "WKS.0500"), 200));
    let config = env.write_config_with(
        &env.fake.endpoint(),
        "max_attempts = 4\ninitial_delay = \"100ms\"\nmax_delay = \"400ms\"\nmax_elapsed = \"3s\"",
        &format!(
            "[jobs]\nenabled = false\n\n{}",
            one_shot(
                "static-too",
                4,
                &["pool-b"],
                // The deadline: due + the longer of max_elapsed (3s) and misfire_grace (6s);
                // the grace also leaves a slow start time to consider the occurrence at all.
                "tags = [\"dept=finance\"]\nmisfire_grace = \"6s\"",
            )
        ),
    );
    let daemon = env.spawn_daemon(&config).await;
    assert!(
        ended(&env, 2).await,
        "{:?}\n{}",
        audience_rows(&env).await,
        daemon.logs()
    );
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(
        desktop_sends(&env).is_empty(),
        "never sent to a stale or empty guess"
    );
    let rows = audience_rows(&env).await;
    // The static pool needs no listing and goes out; the resolved part fails with the error.
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("pool:pool-b", "sent")
    );
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str()),
        ("audience", "failed")
    );
    let error = rows[1].5.as_deref().unwrap();
    assert!(
        error.contains("audience not resolved (tags=dept=finance)") && error.contains("500"),
        "{error}"
    );
    assert!(env.fake.desktop_requests().len() > 3, "retried meanwhile");
}
