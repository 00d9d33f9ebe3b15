//! Individual desktops as targets, and re-sending to the desktops that did not get it: by
//! hand (`resend`) and automatically (`resend_failed`), never past the original's deadline.

use std::time::Duration;

use sqlx::Row;

use crate::fake::JobPlan;
use crate::helpers::*;

const JOBS: &str = "[jobs]\nfirst_poll = \"1s\"\npoll_interval = \"1s\"\ngive_up_after = \"10s\"\ndesktop_batch = 2\n";

/// `(id, target, parent_id, status, job_result)` of every delivery.
async fn rows(db: &sqlx::AnyPool) -> Vec<(i64, String, Option<i64>, String, Option<String>)> {
    sqlx::query("SELECT id, target, parent_id, status, job_result FROM deliveries ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

#[tokio::test]
async fn send_to_individual_desktops_goes_out_in_batches() {
    let env = TestEnv::new().await;
    let config = env.write_config(JOBS);
    let c = config.to_str().unwrap();
    let out = env
        .run(&[
            "send",
            "--config",
            c,
            "--desktop",
            "d-1",
            "--desktop",
            "d-2",
            "--desktop",
            "d-3",
            "--message",
            "hello",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(desktop_sends(&env), vec![vec!["d-1", "d-2"], vec!["d-3"]]);
    assert!(env.fake.received().iter().all(|r| r.auth_problem.is_none()));
    let db = env.db().await;
    let targets: Vec<String> = rows(&db).await.into_iter().map(|r| r.1).collect();
    assert_eq!(targets, ["desktops:0", "desktops:1"]);
    let pool: Option<String> = sqlx::query_scalar("SELECT pool_id FROM deliveries WHERE id = 1")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(pool, None);
}

#[tokio::test]
async fn a_schedule_with_desktops_and_pools_fires_one_delivery_per_target() {
    let env = TestEnv::new().await;
    let at = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let schedule = format!(
        "[[schedules]]\nid = \"mixed\"\nat = \"{at}\"\npools = [\"{POOL}\"]\ndesktops = [\"a\", \"b\", \"c\"]\nmessage = \"m\"\n"
    );
    let config = env.write_config(&format!("{JOBS}\n{schedule}"));
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    let sent = wait_for(10, || async { count_status(&db, "sent").await == 3 }).await;
    assert!(sent, "{}", daemon.logs());
    assert_eq!(daemon.stop(10).await, Some(0));
    let targets: Vec<String> = rows(&db).await.into_iter().map(|r| r.1).collect();
    assert_eq!(
        targets,
        [
            format!("pool:{POOL}"),
            "desktops:0".into(),
            "desktops:1".into()
        ]
    );
    assert_eq!(desktop_sends(&env), vec![vec!["a", "b"], vec!["c"]]);
}

#[tokio::test]
async fn resend_sends_exactly_the_failed_desktops_in_batches() {
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 5,
        failed: 3,
        ..JobPlan::default()
    });
    let config = env.write_config(JOBS);
    let c = config.to_str().unwrap();
    let mut wait = send_args(&config, POOL, "restart at 22:00").to_vec();
    wait.push("--wait");
    assert_eq!(env.run(&wait).await.status.code(), Some(1));
    env.fake.plan_jobs(JobPlan::default());
    let out = env.run(&["resend", "1", "--config", c]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        desktop_sends(&env),
        vec![vec!["desk-0002", "desk-0003"], vec!["desk-0004"]]
    );
    let db = env.db().await;
    let all = rows(&db).await;
    assert_eq!(all[1].1, "resend:1:0");
    assert_eq!(all[2].1, "resend:1:1");
    assert_eq!((all[1].2, all[2].2), (Some(1), Some(1)));
    // The re-sent text is the original's.
    let texts: Vec<String> = env
        .fake
        .received()
        .iter()
        .map(|r| r.notification_text())
        .collect();
    assert!(texts.iter().all(|t| t == "restart at 22:00"), "{texts:?}");
    // A re-send whose own job has no result yet cannot be re-sent again.
    let out = env.run(&["resend", "2", "--config", c]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no job result yet"),
        "{}",
        stderr(&out)
    );
    // And a delivery every desktop got has nothing to re-send.
    env.fake.plan_jobs(JobPlan::default());
    assert_eq!(env.run(&wait).await.status.code(), Some(0));
    let out = env.run(&["resend", "4", "--config", c]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no desktop to re-send to (2/2)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(desktop_sends(&env).len(), 2, "nothing more was sent");
}

#[tokio::test]
async fn an_automatic_resend_goes_out_within_the_deadline_and_not_past_it() {
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 4,
        failed: 1,
        ..JobPlan::default()
    });
    let now = chrono::Utc::now();
    let at = (now + chrono::TimeDelta::seconds(2)).to_rfc3339();
    // A plain schedule: the deadline (due + 1m) leaves room for a re-send 10 s later.
    let schedule = format!(
        "[[schedules]]\nid = \"reminder\"\nat = \"{at}\"\npools = [\"{POOL}\"]\nmessage = \"m\"\nresend_failed = {{ attempts = 1, after = \"10s\" }}\n"
    );
    // A countdown warning 8 s before its window: a re-send 10 s after would be too late.
    let start = (now + chrono::TimeDelta::seconds(10)).to_rfc3339();
    let window = format!(
        "[[maintenance_windows]]\nid = \"patch\"\nstart = \"{start}\"\nduration = \"1m\"\nnotify_before = [\"8s\"]\npools = [\"{POOL}\"]\nmessage = \"in {{time_left}}\"\nresend_failed = {{ attempts = 2, after = \"10s\" }}\n"
    );
    let config = env.write_config(&format!("{JOBS}\n{schedule}\n{window}"));
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    let resent = wait_for(25, || async {
        rows(&db)
            .await
            .iter()
            .any(|r| r.2.is_some() && r.3 == "sent")
    })
    .await;
    assert!(resent, "{}", daemon.logs());
    assert_eq!(daemon.stop(10).await, Some(0));
    let all = rows(&db).await;
    let resends: Vec<_> = all.iter().filter(|r| r.2.is_some()).collect();
    assert_eq!(resends.len(), 1, "{all:?}");
    let parent: String = sqlx::query_scalar("SELECT schedule_id FROM deliveries WHERE id = $1")
        .bind(resends[0].2.unwrap())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(parent, "reminder");
    assert_eq!(desktop_sends(&env), vec![vec!["desk-0003"]]);
    let logs = std::fs::read_to_string(env.path("daemon.log")).unwrap();
    assert!(logs.contains("no automatic re-send"), "{logs}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// A re-sent warning tells the time left when it is sent (not the lead it was planned with);
/// a second `resend` needs `--again`, and one past the deadline `--past-deadline`.
#[tokio::test]
async fn a_manual_resend_counts_down_from_its_own_time_once_and_within_the_deadline() {
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 3,
        failed: 1,
        ..JobPlan::default()
    });
    let start = chrono::Utc::now() + chrono::TimeDelta::seconds(12);
    let window = format!(
        "[[maintenance_windows]]\nid = \"patch\"\nstart = \"{}\"\nduration = \"1m\"\nnotify_before = [\"10s\"]\npools = [\"{POOL}\"]\nmessage = \"restart in {{time_left}}\"\n",
        start.to_rfc3339()
    );
    let config = env.write_config(&format!("{JOBS}\n{window}"));
    let c = config.to_str().unwrap();
    let daemon = env.spawn_daemon(&config).await;
    let db = env.db().await;
    let followed = wait_for(10, || async {
        rows(&db).await.first().is_some_and(|r| r.4.is_some())
    })
    .await;
    assert!(followed, "{}", daemon.logs());
    let out = env.run(&["resend", "1", "--config", c]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let texts: Vec<String> = env
        .fake
        .received()
        .iter()
        .filter(|r| r.path.ends_with("/notifications"))
        .map(|r| r.notification_text())
        .collect();
    assert_eq!(texts[0], "restart in 10 seconds");
    let left: u64 = texts[1]
        .strip_prefix("restart in ")
        .and_then(|t| t.strip_suffix(" seconds"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{texts:?}"));
    assert!(left < 10, "the re-send still says {left} seconds");
    // What was sent is what the row says.
    let message: String = sqlx::query_scalar("SELECT message FROM deliveries WHERE parent_id = 1")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(message, texts[1]);
    // Twice: refused, unless --again.
    let out = env.run(&["resend", "1", "--config", c]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("was already re-sent (delivery 2"),
        "{}",
        stderr(&out)
    );
    // Past the deadline (the start): refused, unless --past-deadline.
    let now = chrono::Utc::now();
    if start > now {
        tokio::time::sleep((start - now).to_std().unwrap() + Duration::from_millis(200)).await;
    }
    let sent_before = env.fake.received().len();
    let out = env.run(&["resend", "1", "--config", c, "--again"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("deadline"), "{}", stderr(&out));
    assert_eq!(
        env.fake.received().len(),
        sent_before,
        "a refused re-send sent"
    );
    let out = env
        .run(&["resend", "1", "--config", c, "--again", "--past-deadline"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last = env.fake.received().last().unwrap().notification_text();
    assert_eq!(last, "restart in 0 seconds");
    assert_eq!(daemon.stop(5).await, Some(0));
}
