//! `schedule export` / `schedule import`: every database schedule and window in the config
//! file's syntax and back, losslessly (TOML and JSON), all or nothing.

use chrono::{TimeDelta, Utc};

use crate::helpers::*;

async fn ok(env: &TestEnv, args: &[&str]) -> String {
    let out = env.run(args).await;
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[tokio::test]
async fn export_then_import_is_lossless_and_an_invalid_file_imports_nothing() {
    let first = TestEnv::new().await;
    let config = first.write_config("");
    let c = config.to_str().unwrap();
    let start = (Utc::now() + TimeDelta::days(3)).to_rfc3339();
    ok(
        &first,
        &[
            "schedule",
            "add",
            "--config",
            c,
            "--id",
            "weekday",
            "--cron",
            "0 0 9 * * Mon-Fri",
            "--timezone",
            "Asia/Shanghai",
            "--pool",
            POOL,
            "--desktop",
            "d-1",
            "--message",
            "Morning {{not a template}}",
            "--misfire-grace",
            "10m",
            "--catch-up",
            "none",
            "--paused",
            "--resend-attempts",
            "2",
            "--resend-after",
            "3m",
        ],
    )
    .await;
    ok(
        &first,
        &[
            "schedule",
            "add",
            "--config",
            c,
            "--id",
            "finance",
            "--every",
            "4h",
            "--tag",
            "dept=finance",
            "--audience",
            "connected",
            "--max-audience",
            "300",
            "--message",
            "Close the books",
        ],
    )
    .await;
    ok(
        &first,
        &[
            "maintenance",
            "add",
            "--config",
            c,
            "--id",
            "patch",
            "--start",
            &start,
            "--duration",
            "90m",
            "--notify-before",
            "1h",
            "--notify-before",
            "15m",
            "--pool",
            POOL,
            "--message",
            "restart in {time_left}",
            "--start-message",
            "starting",
            "--end-message",
            "done at {end}",
            "--maintenance-mode",
        ],
    )
    .await;
    let toml = ok(&first, &["schedule", "export", "--config", c]).await;
    let json = ok(&first, &["schedule", "export", "--json", "--config", c]).await;
    assert!(
        toml.contains("[[schedules]]") && toml.contains("[[maintenance_windows]]"),
        "{toml}"
    );

    // Into an empty database: the same export comes out again, TOML and JSON alike.
    let second = TestEnv::new().await;
    let config2 = second.write_config("");
    let c2 = config2.to_str().unwrap();
    let file = second.path("export.toml");
    std::fs::write(&file, &toml).unwrap();
    let imported = ok(
        &second,
        &["schedule", "import", file.to_str().unwrap(), "--config", c2],
    )
    .await;
    assert_eq!(imported.trim(), "imported 2 schedule(s) and 1 window(s)");
    assert_eq!(
        ok(&second, &["schedule", "export", "--config", c2]).await,
        toml
    );
    let jfile = second.path("export.json");
    std::fs::write(&jfile, &json).unwrap();
    // Without --replace the ids that exist refuse the whole import.
    let dup = second
        .run(&[
            "schedule",
            "import",
            jfile.to_str().unwrap(),
            "--config",
            c2,
        ])
        .await;
    assert_eq!(dup.status.code(), Some(78), "{}", stderr(&dup));
    assert!(stderr(&dup).contains("already exists"), "{}", stderr(&dup));
    let replaced = ok(
        &second,
        &[
            "schedule",
            "import",
            jfile.to_str().unwrap(),
            "--replace",
            "--config",
            c2,
        ],
    )
    .await;
    assert_eq!(
        replaced.trim(),
        "imported 2 schedule(s) and 1 window(s), replacing 3"
    );
    assert_eq!(
        ok(&second, &["schedule", "export", "--json", "--config", c2]).await,
        json
    );

    // One bad entry: refused with its key, and nothing of the file is written.
    let third = TestEnv::new().await;
    let config3 = third.write_config("");
    let c3 = config3.to_str().unwrap();
    third.create_database(&config3).await;
    let bad = third.path("bad.toml");
    std::fs::write(
        &bad,
        format!("[[schedules]]\nid = \"good\"\nevery = \"1h\"\npools = [\"{POOL}\"]\nmessage = \"m\"\n\n[[schedules]]\nid = \"bad\"\ncron = \"61 * * * *\"\npools = [\"{POOL}\"]\nmessage = \"m\"\n"),
    )
    .unwrap();
    let refused = third
        .run(&["schedule", "import", bad.to_str().unwrap(), "--config", c3])
        .await;
    assert_eq!(refused.status.code(), Some(78));
    assert!(
        stderr(&refused).contains("schedules[1].cron"),
        "{}",
        stderr(&refused)
    );
    let unknown = third.path("unknown.toml");
    std::fs::write(&unknown, "[[schedules]]\nid = \"x\"\nevry = \"1h\"\n").unwrap();
    let typo = third
        .run(&[
            "schedule",
            "import",
            unknown.to_str().unwrap(),
            "--config",
            c3,
        ])
        .await;
    assert_eq!(typo.status.code(), Some(78));
    assert!(stderr(&typo).contains("evry"), "{}", stderr(&typo));
    // Only what was there before (create_database's own schedule): nothing half-imported.
    let after = ok(&third, &["schedule", "export", "--json", "--config", c3]).await;
    assert!(after.contains("\"unused\""), "{after}");
    assert!(
        !after.contains("\"good\"") && !after.contains("\"bad\""),
        "{after}"
    );
}
