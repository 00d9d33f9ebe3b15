//! Over 400 lines on purpose: each scenario runs the daemon through several polls, and reads
//! as one story. Warnings before Workspace's own scheduled tasks, through the daemon against the fake
//! Workspace: each target type and each time form, ignored types, an unreadable time, a task
//! that moves, is disabled or deleted (unsent warnings cancelled, one cancel notice), and a
//! task API that fails while warnings already planned keep their time.

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use sqlx::Row;

use crate::fake::{FakeDesktop, FakeTask, Reply};
use crate::helpers::*;

/// `at` as Workspace writes a wall time in `zone`.
fn wall(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A whole second `secs` from now.
fn ahead(secs: i64) -> DateTime<Utc> {
    (Utc::now() + TimeDelta::seconds(secs))
        .with_nanosecond(0)
        .unwrap()
}

fn small_estate() -> Vec<FakeDesktop> {
    (0..6)
        .map(|i| FakeDesktop {
            id: format!("d{i}"),
            users: vec![format!("user{i}")],
            pool: None,
            connect_status: "CONNECTED",
            enterprise_project: None,
            tags: match i % 2 {
                0 => vec![("dept".to_owned(), "finance".to_owned())],
                _ => Vec::new(),
            },
            in_maintenance_mode: false,
        })
        .collect()
}

fn rule(extra: &str, leads: &str) -> String {
    format!(
        r#"[jobs]
enabled = false

[workspace_tasks]
poll_interval = "5s"

[[task_warnings]]
id = "restart-warnings"
notify_before = [{leads}]
message = "Your desktop will {{action}} at {{start}} ({{time_left}} left): {{task_name}}."
{extra}
"#
    )
}

/// (schedule_id, workspace_task, target, due_at, status, message) of a delivery.
type Line = (String, Option<String>, String, String, String, String);

/// Every delivery, by id.
async fn rows(env: &TestEnv) -> Vec<Line> {
    let db = env.db().await;
    sqlx::query("SELECT schedule_id, workspace_task, target, due_at, status, message FROM deliveries ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get("schedule_id"),
                r.get("workspace_task"),
                r.get("target"),
                r.get("due_at"),
                r.get("status"),
                r.get("message"),
            )
        })
        .collect()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[tokio::test]
async fn warnings_go_to_each_kind_of_target_before_the_run_in_each_time_form() {
    let env = TestEnv::new().await;
    env.fake.set_estate(small_estate());
    let run = ahead(22);
    let shanghai = chrono_tz::Asia::Shanghai;
    env.fake.set_tasks(vec![
        FakeTask::new("t-desk", "REBOOT", &wall(run, shanghai), "Asia/Shanghai")
            .on("DESKTOP", "d1", "pc-d1"),
        FakeTask::new("t-pool", "STOP", &wall(run, shanghai), "GMT+08:00").on(
            "DESKTOP_POOL",
            "pool-x",
            "pool x",
        ),
        FakeTask::new(
            "t-all",
            "HIBERNATE",
            &format!("{} GMT+08:00", wall(run, shanghai)),
            "",
        )
        .on("ALL_DESKTOPS", "", ""),
        FakeTask::new("t-tag", "REBUILD", &wall(run, chrono_tz::UTC), "UTC").on(
            "DESKTOP_TAG",
            "tag-1",
            "dept=finance",
        ),
        // Not warned of: another type, an event-triggered task, a disabled one, a bad time.
        FakeTask::new(
            "t-script",
            "EXECUTE_SCRIPT",
            &wall(run, chrono_tz::UTC),
            "UTC",
        )
        .on("DESKTOP", "d2", ""),
        FakeTask {
            scheduled_type: "LIFE_CYCLE".to_owned(),
            ..FakeTask::new("t-life", "REBOOT", &wall(run, chrono_tz::UTC), "UTC")
                .on("DESKTOP", "d3", "")
        },
        FakeTask {
            enabled: false,
            ..FakeTask::new("t-off", "REBOOT", &wall(run, chrono_tz::UTC), "UTC")
                .on("DESKTOP", "d4", "")
        },
        FakeTask::new("t-bad", "REBOOT", "tomorrow at two", "UTC").on("DESKTOP", "d5", ""),
    ]);
    let config = env.write_config(&rule("", r#""15s", "8s""#));
    let port = free_port();
    let daemon = env.spawn_daemon(&listening(&config, port)).await;
    // 4 tasks × 2 warnings; t-tag and t-all each reach their desktops in one batch.
    let db = env.db().await;
    let done = wait_for(40, || async {
        let all = deliveries(&db).await;
        all.len() >= 8 && all.iter().all(|d| d.status != "pending")
    })
    .await;
    let status = env
        .run(&["status", "--config", config.to_str().unwrap()])
        .await;
    let list = env
        .run(&["maintenance", "list", "--config", config.to_str().unwrap()])
        .await;
    let logs = daemon.logs();
    let (_, metrics) = http_get(port, "/metrics").await;
    assert_eq!(daemon.stop(5).await, Some(0));
    let rows = rows(&env).await;
    assert!(done, "{rows:#?}");
    for line in [
        "workspace_notifier_workspace_tasks_followed{workspace=\"default\"} 4",
        "workspace_notifier_workspace_tasks_unreadable{workspace=\"default\"} 1",
        "workspace_notifier_task_warnings_total{schedule=\"restart-warnings\",event=\"planned\"} 8",
        "workspace_notifier_workspace_task_poll_failures_total{workspace=\"default\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    assert_eq!(rows.len(), 8, "{rows:#?}");
    let mut tasks: Vec<String> = rows.iter().filter_map(|r| r.1.clone()).collect();
    tasks.sort();
    tasks.dedup();
    assert_eq!(tasks, ["t-all", "t-desk", "t-pool", "t-tag"]);
    for (schedule, task, _, due, status, message) in &rows {
        assert_eq!(schedule, "restart-warnings");
        assert_eq!(status, "sent");
        assert!(
            *due == stamp(run - TimeDelta::seconds(15))
                || *due == stamp(run - TimeDelta::seconds(8)),
            "{due} for a run at {run}"
        );
        let action = match task.as_deref().unwrap() {
            "t-desk" => "restart",
            "t-pool" => "shut down",
            "t-all" => "hibernate",
            _ => "be rebuilt",
        };
        assert!(message.contains(&format!("will {action} at ")), "{message}");
    }
    // {start} is the task's own wall time: 02:00 in Shanghai for the Shanghai tasks.
    let local = run.with_timezone(&shanghai).format("%H:%M").to_string();
    let desk = rows
        .iter()
        .find(|r| r.1.as_deref() == Some("t-desk"))
        .unwrap();
    assert!(desk.5.contains(&format!("at {local} (")), "{}", desk.5);
    assert!(desk.5.ends_with(": task t-desk."), "{}", desk.5);
    // Each target as Workspace aims the task: the desktop, the pool, every desktop, the tag.
    let sends = desktop_sends(&env);
    assert!(sends.contains(&vec!["d1".to_owned()]), "{sends:?}");
    assert!(
        sends.contains(&(0..6).map(|i| format!("d{i}")).collect::<Vec<_>>()),
        "{sends:?}"
    );
    assert!(
        sends.contains(&vec!["d0".to_owned(), "d2".to_owned(), "d4".to_owned()]),
        "{sends:?}"
    );
    let pool_sends = env
        .fake
        .received()
        .iter()
        .filter(|r| r.path.ends_with("/desktop-pools/pool-x/notifications"))
        .count();
    assert_eq!(pool_sends, 2);
    // The task that cannot be read is reported, not guessed.
    let out = stdout(&status);
    assert!(
        out.contains("t-bad") && out.contains("gets no warnings"),
        "{out}"
    );
    assert!(out.contains("REBOOT \"task t-desk\""), "{out}");
    let list = stdout(&list);
    assert!(list.contains("Workspace's scheduled tasks:"), "{list}");
    assert!(
        list.contains("task t-bad") && list.contains("gets no warnings"),
        "{list}"
    );
    assert!(
        logs.contains("gets no warnings: next_execution_time \"tomorrow"),
        "{logs}"
    );
    // Only the lists and one show per new task a rule covers (t-bad included).
    let shows: Vec<String> = env
        .fake
        .task_requests()
        .iter()
        .filter(|r| r.path.contains("/scheduled-tasks/"))
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    let mut distinct = shows.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(shows.len(), distinct.len(), "one show per task: {shows:?}");
    assert_eq!(distinct, ["t-all", "t-bad", "t-desk", "t-pool", "t-tag"]);
}

#[tokio::test]
async fn a_moved_then_disabled_task_cancels_unsent_warnings_and_sends_one_notice_each_time() {
    let env = TestEnv::new().await;
    let run = ahead(40);
    let task = |at: DateTime<Utc>| {
        FakeTask::new("t1", "REBOOT", &wall(at, chrono_tz::UTC), "UTC").on("DESKTOP", "d1", "")
    };
    env.fake.set_tasks(vec![task(run)]);
    let config = env.write_config(&rule(
        "cancel_message = \"The {action} planned for {start} will not happen.\"",
        r#""35s", "15s""#,
    ));
    let port = free_port();
    let daemon = env.spawn_daemon(&listening(&config, port)).await;
    let db = env.db().await;
    // The first warning (run - 35 s) goes out; then the task moves 40 s later.
    assert!(
        wait_for(20, || async { count_status(&db, "sent").await == 1 }).await,
        "{:#?}\n{}",
        rows(&env).await,
        daemon.logs()
    );
    let moved = run + TimeDelta::seconds(40);
    env.fake.set_tasks(vec![task(moved)]);
    // Within a poll: the old run's second warning is recorded cancelled, one notice goes out.
    let cancelled = wait_for(15, || async {
        rows(&env).await.iter().any(|r| r.4 == "cancelled")
            && rows(&env)
                .await
                .iter()
                .any(|r| r.5.contains("will not happen"))
    })
    .await;
    assert!(cancelled, "{:#?}", rows(&env).await);
    // The new run's first warning (moved - 35 s) goes out; then the task is disabled.
    let first_new = stamp(moved - TimeDelta::seconds(35));
    assert!(
        wait_for(40, || async {
            rows(&env)
                .await
                .iter()
                .any(|r| r.3 == first_new && r.4 == "sent")
        })
        .await,
        "{:#?}",
        rows(&env).await
    );
    env.fake.set_tasks(vec![FakeTask {
        enabled: false,
        ..task(moved)
    }]);
    let notices = |all: &Vec<Line>| {
        all.iter()
            .filter(|r| r.5.contains("will not happen"))
            .count()
    };
    assert!(
        wait_for(15, || async { notices(&rows(&env).await) == 2 }).await,
        "{:#?}",
        rows(&env).await
    );
    // Quiet afterwards: nothing more is planned for the disabled task.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (_, metrics) = http_get(port, "/metrics").await;
    assert_eq!(daemon.stop(5).await, Some(0));
    for line in [
        "workspace_notifier_task_warnings_total{schedule=\"restart-warnings\",event=\"planned\"} 4",
        "workspace_notifier_task_warnings_total{schedule=\"restart-warnings\",event=\"cancelled\"} 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let all = rows(&env).await;
    let line = |due: DateTime<Utc>| all.iter().find(|r| r.3 == stamp(due)).cloned();
    let old_second = line(run - TimeDelta::seconds(15)).expect("recorded");
    assert_eq!(old_second.4, "cancelled", "{all:#?}");
    let new_second = line(moved - TimeDelta::seconds(15)).expect("recorded");
    assert_eq!(new_second.4, "cancelled", "{all:#?}");
    assert_eq!(notices(&all), 2, "{all:#?}");
    let start = run.format("%H:%M").to_string();
    assert!(
        all.iter().any(
            |r| r.5 == format!("The restart planned for {start} will not happen.") && r.4 == "sent"
        ),
        "{all:#?}"
    );
    assert!(all.iter().all(|r| r.1.as_deref() == Some("t1")));
    assert_eq!(all.iter().filter(|r| r.4 == "sent").count(), 4, "{all:#?}");
}

#[tokio::test]
async fn a_failing_task_api_is_reported_and_planned_warnings_keep_their_time_then_a_deleted_task_is_cancelled()
 {
    let env = TestEnv::new().await;
    let run = ahead(35);
    env.fake.set_tasks(vec![
        FakeTask::new("t1", "STOP", &wall(run, chrono_tz::UTC), "UTC").on("DESKTOP", "d1", ""),
    ]);
    let config = env.write_config(&rule("", r#""25s", "5s""#));
    let daemon = env.spawn_daemon(&config).await;
    // The first read (list + show) is done; from now on the task API fails.
    assert!(wait_for(10, || async { env.fake.task_requests().len() >= 2 }).await);
    env.fake
        .script_task_reads((0..3).map(|_| Reply::error(503, "APIGW.0503")));
    let db = env.db().await;
    assert!(
        wait_for(25, || async { count_status(&db, "sent").await == 1 }).await,
        "{:#?}",
        rows(&env).await
    );
    let status = env
        .run(&["status", "--json", "--config", config.to_str().unwrap()])
        .await;
    let doc: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    let polls = &doc["workspace_tasks"]["polls"];
    assert!(
        polls[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("503"),
        "{doc:#}"
    );
    assert_eq!(
        doc["workspace_tasks"]["runs"][0]["task_id"], "t1",
        "{doc:#}"
    );
    // The task is deleted in Workspace: its last warning is cancelled once the list reads again.
    env.fake.set_tasks(Vec::new());
    assert!(
        wait_for(30, || async {
            rows(&env).await.iter().any(|r| r.4 == "cancelled")
        })
        .await,
        "{:#?}",
        rows(&env).await
    );
    let metrics_free = daemon.logs();
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(
        metrics_free.contains("cannot read Workspace's scheduled tasks"),
        "{metrics_free}"
    );
    let all = rows(&env).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].3, stamp(run - TimeDelta::seconds(25)));
    assert_eq!(all[1].3, stamp(run - TimeDelta::seconds(5)));
    assert_eq!(all[1].4, "cancelled");
}

#[tokio::test]
async fn two_instances_on_postgresql_send_each_warning_notice_and_switch_once() {
    let env = TestEnv::new().await;
    if env.postgres.is_none() {
        eprintln!("two instances: skipped: needs {POSTGRES_VAR}");
        return;
    }
    let mut estate = small_estate();
    estate[1].pool = Some("pool-m".to_owned());
    env.fake.set_estate(estate);
    let run = ahead(20);
    let task = |at: DateTime<Utc>| {
        FakeTask::new("t1", "REBOOT", &wall(at, chrono_tz::UTC), "UTC").on("DESKTOP", "d1", "")
    };
    env.fake.set_tasks(vec![task(run)]);
    let start = (Utc::now() + TimeDelta::seconds(4)).to_rfc3339();
    let window = format!(
        "[[maintenance_windows]]\nid = \"patch\"\nstart = \"{start}\"\nduration = \"6s\"\nnotify_before = [\"1s\"]\npools = [\"pool-m\"]\nmessage = \"m\"\nmaintenance_mode = true\n"
    );
    let config = env.write_config(&format!(
        "{}\n{window}",
        rule(
            "cancel_message = \"The {action} planned for {start} will not happen.\"",
            r#""15s", "8s""#
        )
    ));
    let spawn = |log| env.spawn_daemon_with(&config, &DaemonOptions::log_to(log));
    let (a, b) = (
        spawn("a.log").started().await,
        spawn("b.log").started().await,
    );
    let db = env.db().await;
    // The first warning (run - 15 s) goes out; then the task moves: both instances see it.
    assert!(
        wait_for(20, || async {
            rows(&env)
                .await
                .iter()
                .any(|r| r.4 == "sent" && r.1.is_some())
        })
        .await,
        "{:#?}",
        rows(&env).await
    );
    env.fake.set_tasks(vec![task(run + TimeDelta::seconds(60))]);
    assert!(
        wait_for(15, || async {
            rows(&env)
                .await
                .iter()
                .any(|r| r.5.contains("will not happen"))
        })
        .await
    );
    // Past the window's end and two more polls of both instances.
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    assert_eq!(a.stop(5).await, Some(0));
    assert_eq!(b.stop(5).await, Some(0));
    let to_d1: Vec<String> = env
        .fake
        .received()
        .iter()
        .filter(|r| r.path.ends_with("/desktops/notifications"))
        .map(|r| r.notification_text())
        .collect();
    assert_eq!(
        to_d1.len(),
        2,
        "one warning and one cancel notice: {to_d1:?}"
    );
    assert_eq!(
        count_status(&db, "cancelled").await,
        1,
        "{:#?}",
        rows(&env).await
    );
    let switches = env.fake.mode_switches();
    assert_eq!(
        switches,
        [
            (true, vec!["d1".to_owned()]),
            (false, vec!["d1".to_owned()])
        ]
    );
}
