//! Several workspaces in one service: each delivery goes through its own workspace's endpoint,
//! project and credentials, and one workspace that fails does not hold back the others.

use crate::fake::{FakeWorkspace, Identity, PROJECT};
use crate::helpers::*;

const PROJECT_AP: &str = "1b2c3d4e5f60718293a4b5c6d7e8f901";
const PROJECT_BAD: &str = "2c3d4e5f60718293a4b5c6d7e8f90123";

fn other(ak: &str, sk: &str, project: &str) -> Identity {
    Identity {
        ak: ak.to_owned(),
        sk: sk.to_owned(),
        project: project.to_owned(),
    }
}

/// `[[workspaces]]` for `entries` (name, endpoint, project, AK file, SK file), then `extra`.
fn config(
    env: &TestEnv,
    entries: &[(&str, String, &str, &str, &str)],
    extra: &str,
) -> std::path::PathBuf {
    let mut text = format!(
        "[daemon]\ndatabase = \"{}\"\n{}timezone = \"UTC\"\nmax_in_flight = 4\nshutdown_grace = \"2s\"\n\n[retry]\nmax_attempts = 2\ninitial_delay = \"100ms\"\nmax_delay = \"200ms\"\nmax_elapsed = \"5s\"\n\n",
        env.database(),
        if env.postgres.is_some() {
            "instance_lease = \"3s\"\n"
        } else {
            ""
        },
    );
    for (name, endpoint, project, ak, sk) in entries {
        text.push_str(&format!(
            "[[workspaces]]\nname = \"{name}\"\nendpoint = \"{endpoint}\"\nproject_id = \"{project}\"\nrequest_timeout = \"2s\"\n[workspaces.credentials]\naccess_key_file = \"{}\"\nsecret_key_file = \"{}\"\n\n",
            env.path(ak).display(),
            env.path(sk).display(),
        ));
    }
    text.push_str(extra);
    // One file per config written, so several can be kept side by side.
    let taken = std::fs::read_dir(env.path("")).unwrap().count();
    let path = env.path(&format!("several-{taken}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The fake server of a second account (workspace `ap`), with that account's AK/SK written
/// to `ak-ap` and `sk-ap`.
async fn second_account(env: &TestEnv) -> FakeWorkspace {
    let (ak, sk) = (
        "HPUAEXAMPLEAPAK54321",
        "AnotherSecretKeyForTheSecondAccount00001",
    );
    write_secret(&env.path("ak-ap"), ak);
    write_secret(&env.path("sk-ap"), sk);
    FakeWorkspace::start_as(other(ak, sk, PROJECT_AP)).await
}

fn every_second(id: &str, workspace: &str) -> String {
    format!(
        "[[schedules]]\nid = \"{id}\"\nworkspace = \"{workspace}\"\ncron = \"* * * * * *\"\npools = [\"{POOL}\"]\nmessage = \"to {workspace}\"\nmisfire_grace = \"1s\"\n\n"
    )
}

#[tokio::test]
async fn each_workspace_gets_only_its_own_and_a_failing_one_fails_alone() {
    let env = TestEnv::new().await;
    let ap = second_account(&env).await;
    let bad = FakeWorkspace::start_as(other(
        "HPUAEXAMPLEBADAK9876",
        "TheSecretKeyTheServerKnowsButConfigNot01",
        PROJECT_BAD,
    ))
    .await;
    write_secret(&env.path("ak-bad"), "HPUAEXAMPLEBADAK9876");
    write_secret(
        &env.path("sk-bad"),
        "AWrongSecretKeyInTheConfigFile0000000001",
    );
    let schedules = [
        every_second("s-cn", "cn"),
        every_second("s-ap", "ap"),
        every_second("s-bad", "bad"),
    ]
    .concat();
    let path = config(
        &env,
        &[
            ("cn", env.fake.endpoint(), PROJECT, "ak", "sk"),
            ("ap", ap.endpoint(), PROJECT_AP, "ak-ap", "sk-ap"),
            ("bad", bad.endpoint(), PROJECT_BAD, "ak-bad", "sk-bad"),
        ],
        &schedules,
    );
    let daemon = env.spawn_daemon(&path).await;
    let enough = wait_for(20, || async {
        env.fake.received().len() >= 4 && ap.received().len() >= 4 && bad.received().len() >= 4
    })
    .await;
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(
        enough,
        "cn {}, ap {}, bad {}",
        env.fake.received().len(),
        ap.received().len(),
        bad.received().len()
    );
    // Each server saw only its own workspace's messages, each signed with its own secret.
    for (server, name) in [(&env.fake, "cn"), (&ap, "ap")] {
        for r in server.received() {
            assert_eq!(r.auth_problem, None, "{name}: {:?}", r.path);
            assert_eq!(r.notification_text(), format!("to {name}"), "{name}");
        }
    }
    for r in bad.received() {
        assert!(
            r.auth_problem.is_some(),
            "bad: signed with the wrong secret"
        );
        assert_eq!(r.notification_text(), "to bad");
    }
    let db = env.db().await;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT schedule_id, workspace, status FROM deliveries ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    for (schedule, workspace, status) in &rows {
        assert_eq!(schedule, &format!("s-{workspace}"));
        match workspace.as_str() {
            "bad" => assert_ne!(status, "sent", "{rows:?}"),
            _ => assert_ne!(status, "failed", "{rows:?}"),
        }
    }
    // The failing workspace's rejections did not stop the others: they kept firing every
    // second throughout.
    let sent = |w: &str| {
        rows.iter()
            .filter(|(_, ws, st)| ws == w && st == "sent")
            .count()
    };
    assert!(sent("cn") >= 4 && sent("ap") >= 4, "{rows:?}");
    assert!(
        rows.iter().any(|(_, ws, st)| ws == "bad" && st == "failed"),
        "{rows:?}"
    );
    // history --workspace filters; every row carries its workspace.
    let out = env
        .run(&[
            "history",
            "--config",
            path.to_str().unwrap(),
            "--workspace",
            "ap",
            "--json",
            "--limit",
            "1000",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let listed = listed.as_array().unwrap();
    assert!(!listed.is_empty());
    assert!(
        listed
            .iter()
            .all(|r| r["workspace"] == "ap" && r["schedule_id"] == "s-ap")
    );
}

#[tokio::test]
async fn send_goes_to_the_named_workspace_and_a_single_section_is_default() {
    let env = TestEnv::new().await;
    let ap = second_account(&env).await;
    let path = config(
        &env,
        &[
            ("cn", env.fake.endpoint(), PROJECT, "ak", "sk"),
            ("ap", ap.endpoint(), PROJECT_AP, "ak-ap", "sk-ap"),
        ],
        "",
    );
    let c = path.to_str().unwrap();
    let send = |workspace: Option<&'static str>| {
        let mut args = vec!["send", "--config", c, "--pool", POOL, "--message", "hi"];
        if let Some(w) = workspace {
            args.extend(["--workspace", w]);
        }
        args
    };
    let out = env.run(&send(Some("ap"))).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!((env.fake.received().len(), ap.received().len()), (0, 1));
    assert_eq!(ap.received()[0].auth_problem, None);
    // With several workspaces, none is a default: refused before anything is sent.
    let out = env.run(&send(None)).await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--workspace: required"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&send(Some("eu"))).await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown workspace \"eu\"; configured: cn, ap"),
        "{}",
        stderr(&out)
    );
    assert_eq!((env.fake.received().len(), ap.received().len()), (0, 1));
    // An old single-[workspace] file: the workspace is `default`, and may go unnamed.
    let single = env.write_config("");
    let out = env.send(&single, "old style").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = env
        .run(&["history", "--config", single.to_str().unwrap(), "--json"])
        .await;
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let workspaces: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workspace"].as_str().unwrap())
        .collect();
    assert_eq!(workspaces, ["default", "ap"]);
}

#[tokio::test]
async fn workspace_errors_name_the_key_and_exit_78() {
    let env = TestEnv::new().await;
    let entries = |names: &[&'static str]| -> Vec<(
        &'static str,
        String,
        &'static str,
        &'static str,
        &'static str,
    )> {
        names
            .iter()
            .map(|n| (*n, env.fake.endpoint(), PROJECT, "ak", "sk"))
            .collect()
    };
    let check = |path: std::path::PathBuf| {
        let env = &env;
        async move {
            env.run(&["check", "--config", path.to_str().unwrap()])
                .await
        }
    };
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            config(
                &env,
                &entries(&["cn", "ap"]),
                &every_second("s", "eu").replace("workspace = \"eu\"\n", ""),
            ),
            "schedules[0].workspace: required: several workspaces are configured (cn, ap)",
        ),
        (
            config(&env, &entries(&["cn", "ap"]), &every_second("s", "eu")),
            "schedules[0].workspace: unknown workspace \"eu\"; configured: cn, ap",
        ),
        (
            config(&env, &entries(&["cn", "cn"]), ""),
            "workspaces[1].name: duplicate workspace name \"cn\"",
        ),
        (
            config(&env, &entries(&["Tokyo"]), ""),
            "workspaces[0].name: must be 1 to 32 characters of a-z 0-9 -",
        ),
        (
            config(
                &env,
                &entries(&["cn"]),
                "[workspace]\nregion = \"cn-north-4\"\n",
            ),
            "workspace: [workspace] and [[workspaces]] together",
        ),
    ];
    for (path, expected) in cases {
        let text = std::fs::read_to_string(&path).unwrap();
        let out = check(path).await;
        assert_eq!(out.status.code(), Some(78), "{text}\n{}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{expected}\n{}",
            stderr(&out)
        );
    }
    // Credentials missing for one workspace: refused, naming it and where it looked.
    let mut missing = entries(&["cn", "ap"]);
    missing[1].3 = "no-such-ak";
    missing[1].4 = "no-such-sk";
    let path = config(&env, &missing, "");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!(
            "access_key_file = \"{}\"\nsecret_key_file = \"{}\"\n",
            env.path("no-such-ak").display(),
            env.path("no-such-sk").display()
        ),
        "",
    );
    std::fs::write(&path, text).unwrap();
    let out = check(path).await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("workspace \"ap\": no Workspace credentials found"),
        "{err}"
    );
    assert!(err.contains("ak.ap, sk.ap"), "{err}");
    assert!(
        !err.contains("HUAWEICLOUD_SDK_AK"),
        "the environment is the default workspace's only: {err}"
    );
}

/// Each workspace's client is built at start: a reload that adds one is refused (a schedule
/// for it would have nowhere to go), and the running schedules keep firing.
#[tokio::test]
async fn a_reload_that_adds_a_workspace_is_refused_and_the_running_set_stays() {
    let env = TestEnv::new().await;
    let ap = second_account(&env).await;
    let one = [("cn", env.fake.endpoint(), PROJECT, "ak", "sk")];
    let path = config(&env, &one, &every_second("s-cn", "cn"));
    let daemon = env.spawn_daemon(&path).await;
    assert!(wait_for(5, || async { !env.fake.received().is_empty() }).await);
    let two = [
        one[0].clone(),
        ("ap", ap.endpoint(), PROJECT_AP, "ak-ap", "sk-ap"),
    ];
    let added = config(
        &env,
        &two,
        &[every_second("s-cn", "cn"), every_second("s-ap", "ap")].concat(),
    );
    std::fs::copy(&added, &path).unwrap();
    daemon.signal("HUP");
    assert!(
        wait_for(5, || async {
            daemon
                .logs()
                .contains("the workspaces changed (running: cn; the file: cn, ap)")
        })
        .await,
        "{}",
        daemon.logs()
    );
    let before = env.fake.received().len();
    assert!(wait_for(4, || async { env.fake.received().len() >= before + 2 }).await);
    assert_eq!(daemon.stop(5).await, Some(0));
    assert!(
        ap.received().is_empty(),
        "nothing went to the workspace added by the reload"
    );
}
