//! Following each accepted job to its per-desktop result, against the fake's job model:
//! ShowJob, paging through ListItaSubJobs, retries, not-found, permission denial, giving up,
//! resuming after a restart, `send --wait`, `show` and `history`.

use std::time::Duration;

use sqlx::Row;

use crate::fake::{JobPlan, Reply};
use crate::helpers::*;

const FAST_JOBS: &str =
    "[jobs]\nfirst_poll = \"1s\"\npoll_interval = \"1s\"\ngive_up_after = \"10s\"\n";

async fn send_wait(env: &TestEnv, config: &std::path::Path) -> std::process::Output {
    let mut args = send_args(config, POOL, "restart at 22:00").to_vec();
    args.push("--wait");
    env.run(&args).await
}

/// `(job_status, job_result, desktops_total, desktops_ok, desktops_failed, job_error)`.
async fn job_columns(
    db: &sqlx::AnyPool,
    id: i64,
) -> (
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
) {
    let r = sqlx::query("SELECT job_status, job_result, desktops_total, desktops_ok, desktops_failed, job_error FROM deliveries WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))
}

async fn recipients(db: &sqlx::AnyPool, id: i64) -> Vec<(String, String)> {
    sqlx::query(
        "SELECT desktop_id, status FROM recipients WHERE delivery_id = $1 ORDER BY desktop_id",
    )
    .bind(id)
    .fetch_all(db)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test]
async fn send_wait_exits_0_when_every_desktop_got_it() {
    let env = TestEnv::new().await;
    let config = env.write_config(FAST_JOBS);
    let out = send_wait(&env, &config).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("2/2 desktops"), "{}", stdout(&out));
    let db = env.db().await;
    let cols = job_columns(&db, 1).await;
    assert_eq!(cols.0.as_deref(), Some("SUCCESS"));
    assert_eq!(cols.1.as_deref(), Some("ok"));
    assert_eq!((cols.2, cols.3, cols.4), (Some(2), Some(2), Some(0)));
    assert_eq!(recipients(&db, 1).await.len(), 2);
    assert!(
        env.fake
            .job_requests()
            .iter()
            .all(|r| r.auth_problem.is_none())
    );
}

#[tokio::test]
async fn a_job_that_reports_success_with_failed_desktops_is_partial() {
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 5,
        failed: 2,
        running_polls: 1,
        ..JobPlan::default()
    });
    let config = env.write_config(FAST_JOBS);
    let out = send_wait(&env, &config).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("3/5 partial desktops"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("job RUNNING: 0 of 5 desktops done"),
        "{}",
        stderr(&out)
    );
    let db = env.db().await;
    let cols = job_columns(&db, 1).await;
    assert_eq!(cols.1.as_deref(), Some("partial"));
    assert_eq!((cols.2, cols.3, cols.4), (Some(5), Some(3), Some(2)));
    // `show` lists the desktops that did not get it first, with the reason.
    let show = env
        .run(&["show", "1", "--config", config.to_str().unwrap()])
        .await;
    let text = stdout(&show);
    let list = &text[text
        .find("desktops (did not get it first)")
        .unwrap_or_else(|| panic!("desktops listed: {text} {}", stderr(&show)))..];
    let failed_at = list.find("FAILED").expect("failed desktops listed");
    let ok_at = list.find("SUCCESS").expect("ok desktops listed");
    assert!(failed_at < ok_at, "{text}");
    assert!(
        text.contains("the desktop agent is not connected"),
        "{text}"
    );
    // `history` flags it.
    let history = env
        .run(&["history", "--config", config.to_str().unwrap()])
        .await;
    assert!(
        stdout(&history).contains("3/5 partial"),
        "{}",
        stdout(&history)
    );
    let json = env
        .run(&["history", "--json", "--config", config.to_str().unwrap()])
        .await;
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc[0]["job_result"], "partial");
    assert_eq!(doc[0]["desktops_failed"], 2);
}

#[tokio::test]
async fn complete_and_fail_are_final_words_too() {
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 3,
        failed: 3,
        top_status: "FAIL",
        ok_word: "COMPLETE",
        fail_word: "FAIL",
        ..JobPlan::default()
    });
    let config = env.write_config(FAST_JOBS);
    let out = send_wait(&env, &config).await;
    assert_eq!(out.status.code(), Some(1));
    let db = env.db().await;
    let cols = job_columns(&db, 1).await;
    assert_eq!(
        (cols.0.as_deref(), cols.1.as_deref()),
        (Some("FAIL"), Some("failed"))
    );
    env.fake.plan_jobs(JobPlan {
        desktops: 1,
        top_status: "COMPLETE",
        ok_word: "COMPLETE",
        ..JobPlan::default()
    });
    let out = send_wait(&env, &config).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Sub-jobs still RUNNING under a final top-level SUCCESS may yet succeed: the job is
/// `unknown`, not failed, and `resend` leaves those desktops alone.
#[tokio::test]
async fn desktops_still_running_when_the_job_ends_are_unknown_and_not_re_sent() {
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 3,
        failed: 1,
        fail_word: "RUNNING",
        ..JobPlan::default()
    });
    let config = env.write_config(FAST_JOBS);
    let out = send_wait(&env, &config).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let db = env.db().await;
    let cols = job_columns(&db, 1).await;
    assert_eq!(
        (cols.1.as_deref(), cols.2, cols.3, cols.4),
        (Some("unknown"), Some(3), Some(2), Some(0))
    );
    let out = env
        .run(&["resend", "1", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no desktop to re-send to"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn desktops_beyond_the_show_job_page_are_read_through_list_ita_sub_jobs() {
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 2500,
        failed: 7,
        show_limit: 100,
        ..JobPlan::default()
    });
    let config = env.write_config(FAST_JOBS);
    let out = send_wait(&env, &config).await;
    assert!(
        stdout(&out).contains("2493/2500 partial"),
        "{}",
        stdout(&out)
    );
    let db = env.db().await;
    assert_eq!(recipients(&db, 1).await.len(), 2500);
    let pages: Vec<String> = env
        .fake
        .job_requests()
        .iter()
        .filter(|r| r.path.ends_with("workspace-sub-jobs"))
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages[2].contains("offset=2000"), "{pages:?}");
}

#[tokio::test]
async fn throttled_and_failing_polls_are_retried() {
    let env = TestEnv::new().await;
    env.fake.script_job_reads([
        Reply::error(429, "APIG.0308"),
        Reply::error(500, "WKS.0500"),
    ]);
    let config = env.write_config(FAST_JOBS);
    let out = send_wait(&env, &config).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.fake.job_requests().len(), 3);
}

#[tokio::test]
async fn a_job_that_is_not_found_ends_unknown_with_the_reason() {
    let env = TestEnv::new().await;
    env.fake.script_job_reads([Reply::RawError(
        404,
        r#"{"error_code":"WKS.0404","error_msg":"job not found"}"#.to_owned(),
    )]);
    let config = env.write_config(FAST_JOBS);
    let out = send_wait(&env, &config).await;
    assert_eq!(out.status.code(), Some(1));
    let db = env.db().await;
    let cols = job_columns(&db, 1).await;
    assert_eq!(cols.1.as_deref(), Some("unknown"));
    assert!(cols.5.unwrap().contains("not found (HTTP 404)"));
}

#[tokio::test]
async fn a_job_that_never_finishes_is_unknown_after_give_up_after() {
    use workspace_notifier::engine::jobs::{JobFollower, Polled};
    use workspace_notifier::engine::wiring;
    use workspace_notifier::platform::clock::Clock;
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        running_polls: u32::MAX,
        ..JobPlan::default()
    });
    let config_path = env.write_config(FAST_JOBS);
    let out = env.send(&config_path, "hello").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Eleven minutes later, on a shifted clock: the first poll finds it still running.
    let config = workspace_notifier::config::load(&config_path).unwrap();
    let store = wiring::open_store(&config).await.unwrap();
    let routes = wiring::build_routes(&config, &|_| None).unwrap();
    assert!(!routes.dry_run());
    let clock = Clock::shifted(chrono::TimeDelta::minutes(11));
    let follower = JobFollower::new(
        store.clone(),
        std::sync::Arc::new(routes),
        config.jobs,
        clock,
    );
    let due = store.due_job_polls(clock.now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(store.take_job_poll(&due[0], clock.now()).await.unwrap());
    let polled = follower.poll_and_record(&due[0]).await.unwrap();
    assert!(matches!(polled, Polled::Running { .. }), "{polled:?}");
    let db = env.db().await;
    let cols = job_columns(&db, 1).await;
    assert_eq!(cols.1.as_deref(), Some("unknown"));
    assert!(
        cols.5
            .unwrap()
            .contains("no final status within jobs.give_up_after 10s")
    );
}

#[tokio::test]
async fn a_restarted_daemon_resumes_following_unfinished_jobs() {
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 4,
        failed: 1,
        ..JobPlan::default()
    });
    let config = env.write_config(FAST_JOBS);
    // `send` without --wait records the job and leaves it to be followed.
    let out = env.send(&config, "hello").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let db = env.db().await;
    assert_eq!(job_columns(&db, 1).await.1, None);
    let daemon = env.spawn_daemon(&config).await;
    let done = wait_for(10, || async { job_columns(&db, 1).await.1.is_some() }).await;
    assert!(done, "{}", daemon.logs());
    assert_eq!(job_columns(&db, 1).await.1.as_deref(), Some("partial"));
    assert_eq!(daemon.stop(10).await, Some(0));
    // Polled once: nothing is polled twice.
    let shows = env
        .fake
        .job_requests()
        .iter()
        .filter(|r| r.path.contains("workspace-jobs"))
        .count();
    assert_eq!(shows, 1);
}

#[tokio::test]
async fn a_permission_denial_on_polls_is_recorded_per_delivery_and_logged_once() {
    let env = TestEnv::new().await;
    let denied = || {
        Reply::RawError(
            403,
            r#"{"error_code":"WKS.0403","error_msg":"no permission"}"#.to_owned(),
        )
    };
    env.fake.script_job_reads([denied(), denied(), denied()]);
    let config = env.write_config(FAST_JOBS);
    for text in ["one", "two", "three"] {
        assert_eq!(env.send(&config, text).await.status.code(), Some(0));
    }
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    let done = wait_for(10, || async {
        count_where(&db, "job_result = 'unknown'").await == 3
    })
    .await;
    assert!(done, "{}", daemon.logs());
    assert_eq!(daemon.stop(10).await, Some(0));
    let logs = std::fs::read_to_string(env.path("daemon.log")).unwrap();
    assert_eq!(logs.matches("not read their jobs").count(), 1, "{logs}");
    let cols = job_columns(&db, 2).await;
    assert!(cols.5.unwrap().contains("HTTP 403"));
}

#[tokio::test]
async fn with_jobs_disabled_nothing_is_polled() {
    let env = TestEnv::new().await;
    let config = env.write_config("[jobs]\nenabled = false\n");
    assert_eq!(env.send(&config, "hello").await.status.code(), Some(0));
    let out = send_wait(&env, &config).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("[jobs] enabled = true"),
        "{}",
        stderr(&out)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(env.fake.job_requests().is_empty());
    let db = env.db().await;
    assert_eq!(job_columns(&db, 1).await.1, None);
}

async fn count_where(db: &sqlx::AnyPool, condition: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM deliveries WHERE {condition}"
    )))
    .fetch_one(db)
    .await
    .unwrap()
}

/// `request_timeout` shorter than the fake's answer: every attempt times out while Workspace
/// accepts it.
fn slow_config(env: &TestEnv, reconcile: bool) -> std::path::PathBuf {
    let config = env.write_config(&format!("{FAST_JOBS}reconcile_timeouts = {reconcile}\n"));
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("request_timeout = \"2s\"", "request_timeout = \"300ms\"");
    std::fs::write(&config, text).unwrap();
    config
}

#[tokio::test]
async fn a_timed_out_send_that_workspace_accepted_is_adopted_not_sent_twice() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::Delay(
        Duration::from_millis(800),
        Box::new(Reply::Accept),
    )]);
    let config = slow_config(&env, true);
    let out = env.send(&config, "hello").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let received = env.fake.received();
    assert_eq!(received.len(), 1, "sent twice");
    let db = env.db().await;
    let rows = deliveries(&db).await;
    assert_eq!(rows[0].status, "sent");
    assert_eq!(rows[0].job_id, received[0].job_id);
    let attempts = attempts(&db, 1).await;
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts[0]
            .3
            .as_deref()
            .unwrap()
            .contains("no answer within")
    );
    assert!(
        attempts[1]
            .3
            .as_deref()
            .unwrap()
            .contains("instead of sending again")
    );
    // The adopted job is followed like any other.
    let following: Option<String> =
        sqlx::query_scalar("SELECT job_next_poll_at FROM deliveries WHERE id = 1")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(following.is_some());
}

#[tokio::test]
async fn without_reconciliation_a_timed_out_send_is_sent_again() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::Delay(
        Duration::from_millis(800),
        Box::new(Reply::Accept),
    )]);
    let config = slow_config(&env, false);
    let out = env.send(&config, "hello").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.fake.received().len(), 2);
    assert!(env.fake.job_requests().iter().all(|r| {
        !r.query
            .clone()
            .unwrap_or_default()
            .contains("desktop_pool_id")
    }));
}
