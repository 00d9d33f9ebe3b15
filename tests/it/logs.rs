//! Logging under journald: syslog priorities, no timestamps.

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
        journal.contains("schedule_id=manual") && journal.contains("target=pool:"),
        "{journal}"
    );
    // JOURNAL_STREAM inherited from a parent whose stderr was the journal does not count.
    let elsewhere = stderr_with_journal_stream(&env, |dev, ino| format!("{dev}:{}", ino + 1));
    assert!(elsewhere.starts_with("20"), "timestamped: {elsewhere}");
    assert!(!elsewhere.contains("<6>"), "{elsewhere}");
}
