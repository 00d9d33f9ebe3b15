//! The console's API on the daemon's listener: the role × route matrix (no token, garbage,
//! expired, revoked, viewer, operator, admin), a schedule paused through the API seen by the
//! command line and in the audit trail with the token's name and the note, error bodies that
//! name the key, and the config rules that keep it off a public address without TLS.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

struct Console {
    port: u16,
    client: reqwest::Client,
}

impl Console {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut request = match method {
            "GET" => self.client.get(url),
            "DELETE" => self.client.delete(url),
            _ => self.client.post(url),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let answer = request
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

#[tokio::test]
async fn every_route_answers_by_role_and_a_pause_through_the_api_is_audited() {
    let env = TestEnv::new().await;
    let port = free_port();
    let config = listening(
        &env.write_config(&format!(
            "[jobs]\nenabled = false\n\n[api]\nenabled = true\n\n{}",
            schedule_toml("nightly", "cron = \"0 0 3 * * *\"", &[POOL], "")
        )),
        port,
    );
    let c = config.to_str().unwrap();
    env.create_database(&config).await;
    let viewer = token(&env, c, "helpdesk", "viewer").await;
    let operator = token(&env, c, "shift-lead", "operator").await;
    let admin = token(&env, c, "root-console", "admin").await;
    let expired = token(&env, c, "old", "admin").await;
    let revoked = token(&env, c, "gone", "admin").await;
    let db = env.db().await;
    sqlx::query("UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00.000Z' WHERE name = 'old'")
        .execute(&db)
        .await
        .unwrap();
    let out = env.run(&["token", "revoke", "gone", "--config", c]).await;
    assert_eq!(out.status.code(), Some(0));
    let daemon = env.spawn_daemon(&config).await;
    let console = Console {
        port,
        client: reqwest::Client::new(),
    };
    // (method, path, body, the role it needs)
    let routes: Vec<(&str, &str, Option<Value>, usize)> = vec![
        ("GET", "/api/v1/status", None, 0),
        ("GET", "/api/v1/schedules", None, 0),
        ("GET", "/api/v1/schedules/nightly", None, 0),
        ("GET", "/api/v1/deliveries?limit=5", None, 0),
        ("GET", "/api/v1/deliveries/1", None, 0),
        ("GET", "/api/v1/audit", None, 0),
        (
            "POST",
            "/api/v1/schedules/nightly/pause",
            Some(json!({"note": "matrix"})),
            1,
        ),
        (
            "POST",
            "/api/v1/schedules/nightly/resume",
            Some(json!({})),
            1,
        ),
        ("GET", "/api/v1/maintenance", None, 0),
        (
            "DELETE",
            "/api/v1/schedules/unused",
            Some(json!({"note": "tidy"})),
            1,
        ),
        ("GET", "/api/v1/tokens", None, 2),
        (
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "made-by-api", "role": "viewer", "expires": "1d"})),
            2,
        ),
        ("DELETE", "/api/v1/tokens/made-by-api", None, 2),
        ("GET", "/api/v1/agenda", None, 0),
        (
            "POST",
            "/api/v1/maintenance",
            Some(
                json!({"id": "matrix-window", "cron": "0 0 4 * * *", "duration": "1h",
                        "pools": [POOL], "message": "restart at {start}"}),
            ),
            1,
        ),
        (
            "POST",
            "/api/v1/maintenance/matrix-window/cancel",
            Some(json!({"note": "matrix"})),
            1,
        ),
        ("POST", "/api/v1/deliveries/1/resend", Some(json!({})), 1),
        (
            "POST",
            "/api/v1/schedules",
            Some(
                json!({"id": "matrix-schedule", "cron": "0 0 5 * * *", "pools": [POOL],
                        "message": "hello"}),
            ),
            1,
        ),
        (
            "POST",
            "/api/v1/send",
            Some(json!({"pool": POOL, "message": "matrix send"})),
            1,
        ),
        (
            "POST",
            "/api/v1/maintenance/matrix-window/postpone",
            Some(json!({"by": "10m"})),
            1,
        ),
        (
            "POST",
            "/api/v1/maintenance/matrix-window/uncancel",
            Some(json!({})),
            1,
        ),
        (
            "POST",
            "/api/v1/freeze",
            Some(json!({"until": "2099-01-01T00:00:00Z"})),
            1,
        ),
        ("POST", "/api/v1/freeze", Some(json!({"end": true})), 1),
    ];
    let garbage = "wn_0000000000000000000000000000000000000000000000000000000000000000";
    let roles = [viewer.as_str(), operator.as_str(), admin.as_str()];
    let sent = env.send(&config, "so delivery 1 exists").await;
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    for (method, path, body, needed) in &routes {
        for bad in [
            None,
            Some("nonsense"),
            Some(garbage),
            Some(expired.as_str()),
            Some(revoked.as_str()),
        ] {
            let (status, answer) = console.call(method, path, bad, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {bad:?}: {answer}"
            );
            assert!(answer["error"]["message"].is_string(), "{answer}");
        }
        for (rank, role) in roles.iter().enumerate() {
            let (status, answer) = console.call(method, path, Some(role), body.clone()).await;
            match rank >= *needed {
                // Allowed: answered on its merits (a second resume is a 409, not a refusal).
                true => assert!(
                    status != StatusCode::UNAUTHORIZED
                        && status != StatusCode::FORBIDDEN
                        && !status.is_server_error(),
                    "{method} {path} as rank {rank}: {status} {answer}"
                ),
                false => assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} as rank {rank}: {answer}"
                ),
            }
        }
    }
    // A pause through the API: seen by the command line, in the audit trail with the token's
    // name and the note; the token never appears in what the API or the trail say.
    let (status, answer) = console
        .call(
            "POST",
            "/api/v1/schedules/nightly/pause",
            Some(&operator),
            Some(json!({"until": "2099-01-01T00:00:00Z", "note": "CHG-7"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, status_json) = console
        .call("GET", "/api/v1/status", Some(&viewer), None)
        .await;
    assert_eq!(status_json["pauses"][0]["id"], "nightly", "{status_json}");
    assert_eq!(status_json["pauses"][0]["actor"], "shift-lead");
    assert_eq!(status_json["service"]["running"], true);
    // A token made through the API works, and its name is taken afterwards (422 naming it).
    let (status, made) = console
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({"name": "bot", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let bot = made["token"].as_str().unwrap().to_owned();
    let (status, _) = console
        .call("GET", "/api/v1/schedules", Some(&bot), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = console
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&admin),
            Some(json!({"name": "bot", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["key"], "name");
    let status_out = stdout(&env.run(&["status", "--config", c]).await);
    assert!(
        status_out.contains("paused nightly until") && status_out.contains("CHG-7"),
        "{status_out}"
    );
    let trail = stdout(&env.run(&["audit", "--json", "--config", c]).await);
    let trail: Vec<Value> = serde_json::from_str(&trail).unwrap();
    let last = trail
        .iter()
        .find(|e| e["action"] == "schedule.pause" && e["note"] == "CHG-7")
        .expect("the API's pause is in the audit trail");
    assert_eq!(last["actor"], "shift-lead");
    assert_eq!(last["note"], "CHG-7");
    for t in roles {
        assert!(!serde_json::to_string(&trail).unwrap().contains(&t[3..]));
    }
    // A window created and cancelled through the API: seen by the command line, audited.
    let start = (chrono::Utc::now() + chrono::TimeDelta::days(2)).to_rfc3339();
    let (status, window) = console
        .call(
            "POST",
            "/api/v1/maintenance",
            Some(&operator),
            Some(json!({"id": "chg-9", "start": start, "duration": "30m",
                        "notify_before": ["15m"], "pools": [POOL],
                        "message": "restart in {time_left}", "note": "CHG-9 approved"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{window}");
    assert_eq!(window["id"], "chg-9");
    let (status, answer) = console
        .call(
            "POST",
            "/api/v1/maintenance",
            Some(&operator),
            Some(json!({"id": "bad", "start": start, "duration": "forever",
                        "pools": [POOL], "message": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["key"], "duration", "{answer}");
    let listed = stdout(
        &env.run(&["maintenance", "list", "--json", "--config", c])
            .await,
    );
    assert!(listed.contains("\"chg-9\""), "{listed}");
    let (_, agenda) = console
        .call(
            "GET",
            &format!(
                "/api/v1/agenda?until={}",
                (chrono::Utc::now() + chrono::TimeDelta::days(3)).format("%Y-%m-%dT%H:%M:%SZ")
            ),
            Some(&viewer),
            None,
        )
        .await;
    assert!(
        agenda
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["schedule_id"] == "chg-9"),
        "{}",
        agenda.as_array().map_or(0, Vec::len)
    );
    let (status, cancelled) = console
        .call(
            "POST",
            "/api/v1/maintenance/chg-9/cancel",
            Some(&operator),
            Some(json!({"notice": "called off", "note": "CHG-9 withdrawn"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(
        cancelled["notices"].as_array().unwrap().len(),
        1,
        "{cancelled}"
    );
    assert_eq!(cancelled["notices"][0]["message"], "called off");
    let actions = audit_rows(&env, c, &["--object", "chg-9"]).await;
    assert_eq!(
        actions,
        [
            ["window.cancel", "shift-lead", "CHG-9 withdrawn"],
            ["window.add", "shift-lead", "CHG-9 approved"],
        ]
    );
    // Errors name the key; unknown ids are 404; a bad body is 400; too large 413.
    let (status, answer) = console
        .call(
            "POST",
            "/api/v1/schedules/nightly/pause",
            Some(&operator),
            Some(json!({"until": "soon"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["key"], "until");
    let (status, _) = console
        .call(
            "POST",
            "/api/v1/schedules/nope/pause",
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = console
        .call(
            "POST",
            "/api/v1/schedules/nightly/pause",
            Some(&operator),
            Some(json!({"colour": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = console
        .call(
            "POST",
            "/api/v1/schedules/nightly/pause",
            Some(&operator),
            Some(json!({"note": "x".repeat(100_000)})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Refusals are counted by reason.
    let (_, metrics) = http_get(port, "/metrics").await;
    assert!(
        metrics.contains("workspace_notifier_api_auth_failures_total{reason=\"invalid\"}"),
        "{metrics}"
    );
    assert_eq!(daemon.stop(10).await, Some(0));
}

#[tokio::test]
async fn the_api_is_off_by_default_and_refused_on_a_public_address() {
    let env = TestEnv::new().await;
    let port = free_port();
    let config = listening(&env.write_config("[jobs]\nenabled = false\n"), port);
    let daemon = env.spawn_daemon(&config).await;
    let (status, _) = http_get(port, "/api/v1/schedules").await;
    assert_eq!(status, 404);
    assert_eq!(daemon.stop(10).await, Some(0));
    let public = env.write_config("[api]\nenabled = true\n");
    let text = std::fs::read_to_string(&public).unwrap().replace(
        "shutdown_grace = \"2s\"",
        "shutdown_grace = \"2s\"\nlisten = \"0.0.0.0:9464\"",
    );
    std::fs::write(&public, text).unwrap();
    let check = env
        .run(&["check", "--config", public.to_str().unwrap()])
        .await;
    assert_eq!(check.status.code(), Some(78));
    assert!(
        stderr(&check).contains("api.tls_cert_file"),
        "{}",
        stderr(&check)
    );
    let unlistened = env.write_config("[api]\nenabled = true\n");
    let check = env
        .run(&["check", "--config", unlistened.to_str().unwrap()])
        .await;
    assert_eq!(check.status.code(), Some(78));
    assert!(stderr(&check).contains("api.enabled"), "{}", stderr(&check));
}

#[tokio::test]
async fn the_command_lines_verbs_through_the_api_are_the_same_changes() {
    let env = TestEnv::new().await;
    let port = free_port();
    let config = listening(
        &env.write_config("[jobs]\nenabled = false\n\n[api]\nenabled = true\n"),
        port,
    );
    let c = config.to_str().unwrap();
    env.create_database(&config).await;
    let operator = token(&env, c, "change-bot", "operator").await;
    let daemon = env.spawn_daemon(&config).await;
    let console = Console {
        port,
        client: reqwest::Client::new(),
    };
    let call = |method: &'static str, path: &'static str, body: Value| {
        let (console, operator) = (&console, &operator);
        async move { console.call(method, path, Some(operator), Some(body)).await }
    };
    // A schedule: created, listed by the command line; a bad one names the key; a typo in a
    // key is refused, not ignored.
    let (status, made) = call(
        "POST",
        "/api/v1/schedules",
        json!({"id": "reminder", "cron": "0 30 9 * * MON-FRI", "pools": [POOL],
               "message": "timesheets", "note": "HR asked"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["kind"], "schedule");
    let listed = stdout(
        &env.run(&["schedule", "list", "--json", "--config", c])
            .await,
    );
    assert!(listed.contains("\"reminder\""), "{listed}");
    let (status, answer) = call(
        "POST",
        "/api/v1/schedules",
        json!({"id": "bad", "cron": "every day", "pools": [POOL], "message": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["key"], "cron", "{answer}");
    let (status, answer) = call(
        "POST",
        "/api/v1/schedules",
        json!({"id": "typo", "cron": "0 0 9 * * *", "pool": [POOL], "message": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["key"], "pool", "{answer}");
    // A send, recorded like the command line's.
    let (status, sent) = call(
        "POST",
        "/api/v1/send",
        json!({"pool": POOL, "message": "the VPN is back", "note": "INC-4"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent[0]["status"], "sent", "{sent}");
    assert_eq!(env.fake.received().len(), 1);
    // A window postponed by an hour, cancelled and uncancelled.
    let start = (chrono::Utc::now() + chrono::TimeDelta::days(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (status, _) = console
        .call(
            "POST",
            "/api/v1/maintenance",
            Some(&operator),
            Some(json!({"id": "db-upgrade", "start": start, "duration": "1h",
                        "notify_before": ["30m"], "pools": [POOL], "message": "in {time_left}"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, moved) = call(
        "POST",
        "/api/v1/maintenance/db-upgrade/postpone",
        json!({"by": "1h", "notice": "moved to {start}"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["notices"].as_array().unwrap().len(), 1, "{moved}");
    let (status, answer) = call(
        "POST",
        "/api/v1/maintenance/db-upgrade/postpone",
        json!({"by": "-1h"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["key"], "by");
    let (status, _) = call("POST", "/api/v1/maintenance/db-upgrade/cancel", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = call("POST", "/api/v1/maintenance/db-upgrade/uncancel", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["uncancelled"], 1);
    // A freeze and its end.
    let (status, _) = call("POST", "/api/v1/freeze", json!({"note": "change freeze"})).await;
    assert_eq!(status, StatusCode::OK);
    let status_out = stdout(&env.run(&["status", "--config", c]).await);
    assert!(status_out.contains("change freeze"), "{status_out}");
    let (status, _) = call("POST", "/api/v1/freeze", json!({"end": true})).await;
    assert_eq!(status, StatusCode::OK);
    // Each change is in the audit trail as the token's.
    let trail = stdout(&env.run(&["audit", "--json", "--config", c]).await);
    let trail: Vec<Value> = serde_json::from_str(&trail).unwrap();
    let mut actions: Vec<&str> = trail
        .iter()
        .filter(|e| e["actor"] == "change-bot")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "schedule.add",
            "send",
            "window.add",
            "window.postpone",
            "window.cancel",
            "window.uncancel",
            "freeze",
            "freeze.end"
        ]
    );
    assert_eq!(daemon.stop(10).await, Some(0));
}
