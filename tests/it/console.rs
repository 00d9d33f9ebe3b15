//! The console's groundwork: API tokens (`token create/list/revoke`, only a hash at rest)
//! and the audit trail (every change from the command line, with actor and note; rows that
//! cannot be changed or deleted).

use crate::helpers::*;

async fn audit(env: &TestEnv, c: &str) -> Vec<serde_json::Value> {
    let out = env.run(&["audit", "--json", "--config", c]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
}

#[tokio::test]
async fn tokens_are_shown_once_kept_as_hashes_listed_and_revoked() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let c = config.to_str().unwrap();
    env.create_database(&config).await;
    let create = env
        .run(&[
            "token", "create", "--name", "helpdesk", "--role", "viewer", "--config", c,
        ])
        .await;
    assert_eq!(create.status.code(), Some(0), "{}", stderr(&create));
    let token = stdout(&create).trim().to_owned();
    assert!(token.starts_with("wn_") && token.len() >= 35, "{token}");
    assert!(!stderr(&create).contains(&token));
    // Neither the database file (nor its log) holds the token, and the list never shows it.
    let bytes = database_bytes(&env).await;
    assert!(
        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token is in the database"
    );
    let list = env.run(&["token", "list", "--json", "--config", c]).await;
    let tokens: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(tokens[0]["name"], "helpdesk");
    assert_eq!(tokens[0]["role"], "viewer");
    assert!(tokens[0]["expires_at"].is_string(), "{tokens}");
    assert!(tokens[0]["revoked_at"].is_null());
    assert!(!stdout(&list).contains(&token[3..]));
    // Bad input names the argument (exit 78); a taken name too.
    for (args, key) in [
        (vec!["--name", "helpdesk", "--role", "viewer"], "--name"),
        (vec!["--name", "a b", "--role", "viewer"], "--name"),
        (vec!["--name", "x", "--role", "root"], "--role"),
        (
            vec!["--name", "x", "--role", "admin", "--expires", "soon"],
            "--expires",
        ),
    ] {
        let mut all = vec!["token", "create", "--config", c];
        all.extend(args);
        let out = env.run(&all).await;
        assert_eq!(out.status.code(), Some(78), "{all:?}");
        assert!(stderr(&out).contains(key), "{all:?}: {}", stderr(&out));
    }
    let revoke = env
        .run(&["token", "revoke", "helpdesk", "--config", c])
        .await;
    assert_eq!(revoke.status.code(), Some(0), "{}", stderr(&revoke));
    let again = env
        .run(&["token", "revoke", "helpdesk", "--config", c])
        .await;
    assert_eq!(again.status.code(), Some(1));
    let list = env.run(&["token", "list", "--json", "--config", c]).await;
    let tokens: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(tokens[0]["revoked_at"].is_string(), "{tokens}");
    let trail = audit(&env, c).await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("token."))
        .collect();
    assert_eq!(actions, ["token.revoke", "token.create"]);
    assert!(!serde_json::to_string(&trail).unwrap().contains(&token[3..]));
}

#[tokio::test]
async fn every_change_from_the_command_line_is_one_audit_row_with_actor_and_note() {
    let env = TestEnv::new().await;
    let config = env.write_config("");
    let c = config.to_str().unwrap();
    let add = env
        .run(&[
            "schedule",
            "add",
            "--config",
            c,
            "--id",
            "reminder",
            "--cron",
            "0 0 9 * * Mon",
            "--pool",
            POOL,
            "--message",
            "m",
            "--note",
            "CHG-1",
        ])
        .await;
    assert_eq!(add.status.code(), Some(0), "{}", stderr(&add));
    let user = [("SUDO_USER", "alice")];
    let pause = env
        .run_env(
            &[
                "schedule",
                "pause",
                "reminder",
                "--note",
                "freeze week",
                "--config",
                c,
            ],
            &user,
        )
        .await;
    assert_eq!(pause.status.code(), Some(0), "{}", stderr(&pause));
    let resume = env
        .run(&["schedule", "resume", "reminder", "--config", c])
        .await;
    assert_eq!(resume.status.code(), Some(0), "{}", stderr(&resume));
    let sent = env.send(&config, "hello").await;
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    let remove = env
        .run(&["schedule", "remove", "reminder", "--config", c])
        .await;
    assert_eq!(remove.status.code(), Some(0), "{}", stderr(&remove));
    let trail = audit(&env, c).await;
    let rows: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["object"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("schedule.remove", "reminder"),
            ("send", "manual"),
            ("schedule.resume", "reminder"),
            ("schedule.pause", "reminder"),
            ("schedule.add", "reminder"),
        ]
    );
    assert_eq!(trail[3]["actor"], "unix:alice");
    assert_eq!(trail[3]["note"], "freeze week");
    assert_eq!(trail[4]["note"], "CHG-1");
    assert!(
        trail[1]["summary"]
            .as_str()
            .unwrap()
            .starts_with("deliveries 1")
    );
    // The text view and a filter by object.
    let text = env
        .run(&["audit", "--object", "reminder", "--config", c])
        .await;
    assert!(stdout(&text).contains("unix:alice") && !stdout(&text).contains("manual"));
    // The program never changes or deletes an audit row; the database refuses it too.
    let db = env.db().await;
    assert!(sqlx::query("DELETE FROM audit").execute(&db).await.is_err());
    assert!(
        sqlx::query("UPDATE audit SET actor = 'x'")
            .execute(&db)
            .await
            .is_err()
    );
}
