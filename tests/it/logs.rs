//! Logging: under journald syslog priorities and no timestamps; JSON lines with the documented
//! fields at the top level.

use crate::helpers::*;

/// Runs `send` in dry run with stderr on a pipe, `JOURNAL_STREAM` set to `journal_stream(pipe)`.
fn stderr_with_journal_stream(
    env: &TestEnv,
    journal_stream: impl Fn(u64, u64) -> String,
) -> String {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let config = env.write_dry_run_config();
    let (mut reader, writer) = std::io::pipe().unwrap();
    let meta = std::fs::File::from(writer.as_fd().try_clone_to_owned().unwrap())
        .metadata()
        .unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(send_args(&config, POOL, "hi"))
        .env("JOURNAL_STREAM", journal_stream(meta.dev(), meta.ino()))
        .stdout(std::process::Stdio::null())
        .stderr(writer)
        .spawn()
        .unwrap();
    child.wait().unwrap();
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn under_journald_lines_carry_a_syslog_priority_and_no_timestamp() {
    let env = TestEnv::new().await;
    let journal = stderr_with_journal_stream(&env, |dev, ino| format!("{dev}:{ino}"));
    assert!(journal.starts_with("<6> INFO"), "{journal}");
    assert!(
        journal.contains("schedule_id=manual") && journal.contains("occurrence done: dry_run 1/1"),
        "{journal}"
    );
    // JOURNAL_STREAM inherited from a parent whose stderr was the journal does not count.
    let elsewhere = stderr_with_journal_stream(&env, |dev, ino| format!("{dev}:{}", ino + 1));
    assert!(elsewhere.starts_with("20"), "timestamped: {elsewhere}");
    assert!(!elsewhere.contains("<6>"), "{elsewhere}");
}

#[tokio::test]
async fn failures_log_at_error_and_each_occurrence_gets_one_summary_line() {
    use crate::fake::Reply;
    let env = TestEnv::new().await;
    env.fake.script([Reply::error(400, "WKS.0400")]);
    let at = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let pools = ["p-1", "p-2", "p-3"];
    let config = env.write_config(&schedule_toml(
        "notice",
        &format!("at = \"{at}\""),
        &pools,
        "",
    ));
    let options = DaemonOptions::default().env("WORKSPACE_NOTIFIER_LOG", "info");
    let daemon = env.spawn_daemon_with(&config, &options);
    let done = wait_for(10, || async { daemon.logs().contains("occurrence done") }).await;
    assert!(done, "{}", daemon.logs());
    assert_eq!(daemon.stop(10).await, Some(0));
    let logs = std::fs::read_to_string(env.path("daemon.log")).unwrap();
    let summaries: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("occurrence done"))
        .collect();
    assert_eq!(summaries.len(), 1, "{logs}");
    assert!(summaries[0].contains("failed 1, sent 2/3"), "{logs}");
    assert!(summaries[0].contains("schedule_id=notice"), "{logs}");
    let failed: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("delivery failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{logs}");
    assert!(failed[0].contains("ERROR"), "{logs}");
    assert!(
        !logs.contains("delivery sent"),
        "per-delivery sent lines are debug: {logs}"
    );
}

/// `--log-format json`: one JSON object per line, with the fields `docs/json.md` names at the
/// top level (`schedule_id`, `message`, `level`), as `jq .schedule_id` expects.
#[tokio::test]
async fn json_log_lines_carry_their_fields_at_the_top_level() {
    let env = TestEnv::new().await;
    let config = env.write_dry_run_config();
    let mut args = send_args(&config, POOL, "hi").to_vec();
    args.extend(["--log-format", "json"]);
    let out = env.run(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let summary = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("occurrence done"))
        })
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(summary["schedule_id"], "manual", "{summary}");
    assert_eq!(summary["level"], "INFO", "{summary}");
    assert!(summary.get("fields").is_none(), "{summary}");
}
