//! `send` end to end: the binary, the fake server, the database.

use std::time::Duration;

use crate::fake::{Reply, SK};
use crate::helpers::*;

const TRICKY: &str =
    "系统维护：今晚 22:00 重启 🚧🔧 \"quoted\" back\\slash\ttab\nnew line 'single' <b>&amp;</b>";

#[tokio::test]
async fn a_200_is_recorded_sent_with_its_job_id_and_the_exact_text() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let out = env.send(&config, TRICKY).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let received = env.fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].auth_problem, None);
    assert_eq!(received[0].notification_text(), TRICKY);
    let job_id = received[0].job_id.clone().unwrap();
    assert_eq!(stdout(&out).trim(), job_id);
    let rows = deliveries(&env.db().await).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (row.status.as_str(), row.attempts, row.job_id.as_deref()),
        ("sent", 1, Some(job_id.as_str()))
    );
    assert_eq!(
        (
            row.schedule_id.as_str(),
            row.pool_id.as_str(),
            row.http_status
        ),
        ("manual", POOL, Some(200))
    );
    assert_eq!(row.message, TRICKY);
    assert!(row.due_at.ends_with('Z'), "{}", row.due_at);
    let tries = attempts(&env.db().await, row.id).await;
    assert_eq!(tries.len(), 1);
    assert_eq!(
        tries[0].4.as_deref(),
        Some("req-0001"),
        "X-Request-Id is recorded"
    );
}

#[tokio::test]
async fn a_409_and_a_500_are_retried_until_the_api_accepts() {
    let env = TestEnv::new().await;
    env.fake
        .script([Reply::error(409, "WKS.0409"), Reply::error(500, "WKS.0500")]);
    let config = env.write_config("");
    let out = env.send(&config, "hi").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = deliveries(&env.db().await).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 3));
    let tries = attempts(&env.db().await, rows[0].id).await;
    let statuses: Vec<_> = tries.iter().map(|t| t.1).collect();
    assert_eq!(statuses, [Some(409), Some(500), Some(200)]);
    assert_eq!(tries[0].2.as_deref(), Some("WKS.0409"));
    assert!(env.fake.received().iter().all(|r| r.auth_problem.is_none()));
}

#[tokio::test]
async fn a_429_with_retry_after_waits_at_least_that_long() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::Error {
        status: 429,
        code: "APIGW.0308",
        msg: "throttled",
        headers: vec![("Retry-After", "1".into())],
    }]);
    let config = env.write_config_with(
        &env.fake.endpoint(),
        "max_attempts = 3\ninitial_delay = \"50ms\"\nmax_delay = \"5s\"",
        "",
    );
    let out = env.send(&config, "hi").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let received = env.fake.received();
    assert_eq!(received.len(), 2);
    let gap = received[1].at - received[0].at;
    assert!(
        gap >= chrono::TimeDelta::milliseconds(1000),
        "waited only {gap}"
    );
}

#[tokio::test]
async fn a_400_fails_at_once_with_the_apis_error_code() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::Error {
        status: 400,
        code: "WKS.0005",
        msg: "Invalid desktop pool id",
        headers: vec![],
    }]);
    let config = env.write_config("");
    let out = env.send(&config, "hi").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "after 1 attempt(s): HTTP 400 WKS.0005: Invalid desktop pool id (X-Request-Id req-0001)"
        ),
        "{}",
        stderr(&out)
    );
    let rows = deliveries(&env.db().await).await;
    let row = &rows[0];
    assert_eq!(
        (row.status.as_str(), row.attempts, row.http_status),
        ("failed", 1, Some(400))
    );
    assert_eq!(row.error_code.as_deref(), Some("WKS.0005"));
    assert_eq!(row.error_msg.as_deref(), Some("Invalid desktop pool id"));
    assert_eq!(env.fake.received().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    let env = TestEnv::new().await;
    let elsewhere = format!("{}/v2/elsewhere/notifications", env.fake.endpoint());
    env.fake.script([Reply::Error {
        status: 307,
        code: "MOVED",
        msg: "moved",
        headers: vec![("Location", elsewhere)],
    }]);
    let config = env.write_config("");
    let out = env.send(&config, "hi").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 307"), "{}", stderr(&out));
    assert_eq!(
        env.fake.received().len(),
        1,
        "the Location was not followed"
    );
    let rows = deliveries(&env.db().await).await;
    assert_eq!(
        (
            rows[0].status.as_str(),
            rows[0].attempts,
            rows[0].http_status
        ),
        ("failed", 1, Some(307))
    );
}

#[tokio::test]
async fn a_401_with_ak_sk_fails_without_retrying() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::Error {
        status: 401,
        code: "APIGW.0301",
        msg: "Incorrect IAM authentication information",
        headers: vec![],
    }]);
    let config = env.write_config("");
    let out = env.send(&config, "hi").await;
    assert_eq!(out.status.code(), Some(1));
    let rows = deliveries(&env.db().await).await;
    assert_eq!(
        (
            rows[0].status.as_str(),
            rows[0].attempts,
            rows[0].error_code.as_deref()
        ),
        ("failed", 1, Some("APIGW.0301"))
    );
}

#[tokio::test]
async fn an_answer_slower_than_the_request_timeout_is_retried() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::Delay(
        Duration::from_secs(4),
        Box::new(Reply::Accept),
    )]);
    let config = env.write_config("");
    let out = env.send(&config, "hi").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = deliveries(&env.db().await).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 2));
    let tries = attempts(&env.db().await, rows[0].id).await;
    assert_eq!(tries[0].1, None, "a timed-out attempt has no HTTP status");
    assert!(
        tries[0]
            .3
            .as_deref()
            .unwrap()
            .contains("no answer within 2s"),
        "{:?}",
        tries[0].3
    );
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::Drop]);
    let config = env.write_config("");
    let out = env.send(&config, "hi").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = deliveries(&env.db().await).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 2));
}

#[tokio::test]
async fn a_malformed_200_is_sent_without_job_id_and_says_so() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::Raw200(r#"{"jobid": 42}"#)]);
    let config = env.write_config("");
    let out = env.send(&config, "hi").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no usable job_id"),
        "{}",
        stderr(&out)
    );
    let rows = deliveries(&env.db().await).await;
    let row = &rows[0];
    assert_eq!(
        (row.status.as_str(), row.job_id.as_deref(), row.attempts),
        ("sent", None, 1)
    );
    assert!(
        row.error_msg
            .as_deref()
            .unwrap()
            .contains("without a usable job_id"),
        "{:?}",
        row.error_msg
    );
}

#[tokio::test]
async fn connection_refused_is_retried_then_fails_with_a_clear_error() {
    let env = TestEnv::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = env.write_config_with(
        &endpoint,
        "max_attempts = 3\ninitial_delay = \"50ms\"\nmax_delay = \"100ms\"\nmax_elapsed = \"1m\"",
        "",
    );
    let out = env.send(&config, "hi").await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("gave up after 3 attempts") && err.contains("cannot connect to"),
        "{err}"
    );
    let rows = deliveries(&env.db().await).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("failed", 3));
    assert_eq!(attempts(&env.db().await, rows[0].id).await.len(), 3);
}

#[tokio::test]
async fn temporary_credentials_send_a_signed_security_token() {
    let env = TestEnv::new().await;
    write_secret(
        &env.path("token"),
        "gQpjbi1ub3J0aC00EXAMPLESECURITYTOKEN+/==",
    );
    let config = env.write_config("");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[retry]",
        &format!(
            "security_token_file = \"{}\"\n\n[retry]",
            env.path("token").display()
        ),
    );
    std::fs::write(&config, text).unwrap();
    let out = env
        .run_env(
            &send_args(&config, "pool with/slash+plus", "hi"),
            &[("WORKSPACE_NOTIFIER_LOG", "trace")],
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("delivery sent"),
        "trace logging was on"
    );
    assert!(
        !stderr(&out).contains("EXAMPLESECURITYTOKEN"),
        "the security token leaked into the log"
    );
    let got = &env.fake.received()[0];
    assert_eq!(got.auth_problem, None);
    assert_eq!(
        got.header("x-security-token"),
        Some("gQpjbi1ub3J0aC00EXAMPLESECURITYTOKEN+/==")
    );
    assert!(
        got.path
            .contains("/desktop-pools/pool%20with%2Fslash%2Bplus/"),
        "{}",
        got.path
    );
}

#[tokio::test]
async fn an_iam_token_is_re_read_once_after_a_401() {
    let env = TestEnv::new().await;
    env.fake.accept_tokens(&["fresh-token"]);
    write_secret(&env.path("iam-token"), "stale-token");
    let config = env.write_token_config(&env.path("iam-token"));
    // The token is renewed on disk (as a refresh timer would) while the first request is
    // being answered with 401.
    let (path, fake) = (env.path("iam-token"), env.fake.clone());
    let renew = tokio::spawn(async move {
        while fake.received().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        write_secret(&path, "fresh-token");
    });
    env.fake.script([Reply::Delay(
        Duration::from_millis(300),
        Box::new(Reply::Accept),
    )]);
    let out = env
        .run_env(
            &send_args(&config, POOL, "hi"),
            &[("WORKSPACE_NOTIFIER_LOG", "trace")],
        )
        .await;
    for token in ["stale-token", "fresh-token"] {
        assert!(
            !stderr(&out).contains(token),
            "the IAM token {token} leaked into the log"
        );
    }
    renew.await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let received = env.fake.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].header("x-auth-token"), Some("stale-token"));
    assert_eq!(received[1].header("x-auth-token"), Some("fresh-token"));
    let rows = deliveries(&env.db().await).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 2));
}

#[tokio::test]
async fn the_secret_key_never_reaches_output_or_the_database() {
    let env = TestEnv::new().await;
    env.fake
        .script([Reply::error(500, "WKS.0500"), Reply::error(400, "WKS.0400")]);
    let config = env.write_config("");
    let verbose = [("WORKSPACE_NOTIFIER_LOG", "trace")];
    let failed = env.run_env(&send_args(&config, POOL, "hi"), &verbose).await;
    let sent = env
        .run_env(&send_args(&config, POOL, "again"), &verbose)
        .await;
    let history = env
        .run(&["history", "--config", config.to_str().unwrap(), "--json"])
        .await;
    let mut everything = Vec::new();
    for out in [&failed, &sent, &history] {
        everything.extend_from_slice(&out.stdout);
        everything.extend_from_slice(&out.stderr);
    }
    everything.extend(database_bytes(&env).await);
    let haystack = String::from_utf8_lossy(&everything);
    assert!(
        haystack.contains("WKS.0400"),
        "the search did cover the output"
    );
    assert!(!haystack.contains(SK), "the secret key leaked");
}

#[tokio::test]
async fn dry_run_needs_no_credentials_and_records_the_exact_text() {
    let env = TestEnv::new().await;
    let config = env.write_dry_run_config();
    let out = env.send(&config, TRICKY).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env.fake.received().is_empty());
    let rows = deliveries(&env.db().await).await;
    assert_eq!(
        (
            rows[0].status.as_str(),
            rows[0].attempts,
            rows[0].message.as_str()
        ),
        ("dry_run", 0, TRICKY)
    );
}

#[tokio::test]
async fn history_lists_newest_first_and_filters() {
    let env = TestEnv::new().await;
    env.fake.script([Reply::error(404, "WKS.0404")]);
    let config = env.write_config("");
    let c = config.to_str().unwrap();
    env.run(&["send", "--config", c, "--pool", POOL, "--message", "first"])
        .await;
    env.run(&["send", "--config", c, "--pool", POOL, "--message", "second"])
        .await;
    let out = env.run(&["history", "--config", c, "--json"]).await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["message"], "second");
    assert_eq!(rows[1]["status"], "failed");
    assert_eq!(rows[1]["error_code"], "WKS.0404");
    let failed = env
        .run(&["history", "--config", c, "--status", "failed", "--json"])
        .await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(rows.len(), 1);
    let table = env.run(&["history", "--config", c]).await;
    assert!(stdout(&table).contains("WKS.0404"), "{}", stdout(&table));
    let bad = env
        .run(&["history", "--config", c, "--status", "done"])
        .await;
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a usage error, like --limit abc"
    );
    assert!(
        stderr(&bad).contains("unknown status \"done\""),
        "{}",
        stderr(&bad)
    );
}

#[tokio::test]
async fn an_invalid_config_exits_78_naming_key_and_value() {
    let env = TestEnv::new().await;
    let config = env.write_config("[[schedules]]\nid = \"tz\"\ncron = \"0 0 17 * * Fri\"\ntimezone = \"Asia/Shangai\"\npools = [\"p\"]\nmessage = \"m\"\n");
    let out = env.send(&config, "hi").await;
    assert_eq!(out.status.code(), Some(78));
    assert!(
        stderr(&out).contains(r#"schedules[0].timezone: unknown time zone "Asia/Shangai""#),
        "{}",
        stderr(&out)
    );
    let bad_pool = env.run(&send_args(&env.write_config(""), " ", "hi")).await;
    assert_eq!(bad_pool.status.code(), Some(78));
    assert!(
        stderr(&bad_pool).contains("--pool"),
        "{}",
        stderr(&bad_pool)
    );
    assert!(env.fake.received().is_empty());
}

#[tokio::test]
async fn an_attempt_is_recorded_even_if_the_first_commits_fail() {
    let env = TestEnv::new().await;
    if !env.sqlite_only("an_attempt_is_recorded_even_if_the_first_commits_fail") {
        return;
    }
    let config = env.write_config("");
    let c = config.to_str().unwrap().to_owned();
    env.create_database(&config).await;
    let db = env.db().await;
    sqlx::query("CREATE TRIGGER refuse BEFORE INSERT ON attempts BEGIN SELECT RAISE(ABORT, 'disk trouble (test)'); END")
        .execute(&db)
        .await
        .unwrap();
    let mut command = std::process::Command::new(BIN);
    command
        .args(["send", "--config", &c, "--pool", POOL, "--message", "hi"])
        .current_dir(env.dir.path());
    let sender = tokio::task::spawn_blocking(move || command.output().unwrap());
    assert!(wait_for(5, || async { env.fake.received().len() == 1 }).await);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sqlx::query("DROP TRIGGER refuse")
        .execute(&db)
        .await
        .unwrap();
    let out = sender.await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("retrying"), "{}", stderr(&out));
    let rows = deliveries(&db).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 1));
    assert_eq!(attempts(&db, rows[0].id).await.len(), 1);
    assert_eq!(env.fake.received().len(), 1, "sent once, not repeated");
}

#[tokio::test]
async fn a_machine_without_ca_certificates_gets_an_error_that_says_so() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    std::fs::write(env.path("empty.pem"), "").unwrap();
    std::fs::create_dir(env.path("no-certs")).unwrap();
    let (file, dir) = (env.path("empty.pem"), env.path("no-certs"));
    let out = env
        .run_env(
            &send_args(&config, POOL, "hi"),
            &[
                ("SSL_CERT_FILE", file.to_str().unwrap()),
                ("SSL_CERT_DIR", dir.to_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no CA certificates found"), "{err}");
    assert!(err.contains("ca-certificates package"), "{err}");
    assert!(env.fake.received().is_empty());
}
