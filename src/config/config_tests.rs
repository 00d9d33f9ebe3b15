use super::*;

fn parse(toml: &str) -> Result<Config, Vec<FieldError>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, toml).unwrap();
    match load(&path) {
        Ok(config) => Ok(config),
        Err(ConfigError::Invalid { errors, .. }) => Err(errors),
        Err(other) => Err(vec![FieldError {
            key: "<load>".into(),
            message: other.to_string(),
        }]),
    }
}

fn errors_of(toml: &str) -> String {
    parse(toml)
        .expect_err("config should be invalid")
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_config_is_valid() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml"))
        .unwrap();
    let config = parse(&text).unwrap();
    assert!(config.daemon.dry_run);
    assert_eq!(config.schedules.len(), 3);
    assert_eq!(config.windows.len(), 1);
}

#[test]
fn a_file_without_settings_gets_the_documented_defaults() {
    // An empty file is refused (a truncated file must not drop every schedule); one that
    // sets nothing gets the defaults.
    assert!(parse("").is_err());
    let config = parse("# every setting at its default\n").unwrap();
    assert_eq!(config.daemon.max_in_flight, 16);
    assert_eq!(config.retry.max_attempts, 8);
    assert_eq!(config.retry.max_elapsed, Duration::from_secs(1800));
    assert_eq!(
        config.workspaces[0].endpoint.as_str(),
        "https://workspace.cn-north-4.myhuaweicloud.com/"
    );
    assert_eq!(
        config.workspaces[0].request_timeout,
        Duration::from_secs(15)
    );
}

#[test]
fn each_bad_value_is_named_with_its_key() {
    let errors = errors_of(
        r#"
[daemon]
timezone = "Mars/Olympus"
max_in_flight = 0
[workspace]
region = "cn-north-44"
request_timeout = "soon"
[retry]
max_attempts = 0
max_delay = "0s"
[[schedules]]
id = "a b"
cron = "61 * * * *"
timezone = "Asia/Shangai"
pools = []
message = ""
"#,
    );
    for expected in [
        r#"daemon.timezone: unknown time zone "Mars/Olympus""#,
        "daemon.max_in_flight: must be between 1 and 1024, got 0",
        r#"workspace.region: unknown region "cn-north-44""#,
        r#"workspace.request_timeout: invalid duration "soon""#,
        "retry.max_attempts: must be between 1 and 100, got 0",
        r#"retry.max_delay: must be between 10ms and 1h, got "0s""#,
        r#"schedules[0].id: must be 1 to 64 characters of A-Z a-z 0-9 . _ -, got "a b""#,
        r#"schedules[0].cron: invalid cron expression "61 * * * *""#,
        r#"schedules[0].timezone: unknown time zone "Asia/Shangai""#,
        "schedules[0].pools: must list at least one pool id",
        "schedules[0].message: must not be empty",
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in:\n{errors}"
        );
    }
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let errors = errors_of("[daemon]\ndry_runn = true\n");
    assert!(errors.contains("dry_runn"), "{errors}");
    let errors = errors_of(
        "[[schedules]]\nid = \"x\"\ncron = \"* * * * *\"\npools = [\"p\"]\nmessage = \"m\"\nmisfire = \"1m\"\n",
    );
    assert!(errors.contains("misfire"), "{errors}");
}

#[test]
fn plain_http_is_allowed_only_to_loopback() {
    assert!(parse("[workspace]\nendpoint = \"http://127.0.0.1:18080\"\n").is_ok());
    assert!(parse("[workspace]\nendpoint = \"http://[::1]:8080\"\n").is_ok());
    assert!(parse("[workspace]\nendpoint = \"http://localhost:8080\"\n").is_ok());
    assert!(parse("[workspace]\nendpoint = \"https://workspace.example.internal\"\n").is_ok());
    let errors = errors_of("[workspace]\nendpoint = \"http://10.0.0.5:8080\"\n");
    assert!(
        errors.contains(r#"workspace.endpoint: "http://10.0.0.5:8080" must use https://"#),
        "{errors}"
    );
}

#[test]
fn a_schedule_needs_exactly_one_trigger() {
    let errors = errors_of(
        "[[schedules]]\nid = \"x\"\ncron = \"* * * * *\"\nevery = \"1h\"\npools = [\"p\"]\nmessage = \"m\"\n",
    );
    assert!(
        errors.contains(
            "schedules[0].cron: a schedule needs exactly one of cron, at, every; got cron, every"
        ),
        "{errors}"
    );
    let errors = errors_of(
        "[[schedules]]\nid = \"x\"\nat = \"2026-12-01 09:00\"\npools = [\"p\"]\nmessage = \"m\"\n",
    );
    assert!(
        errors.contains(r#"schedules[0].at: invalid time "2026-12-01 09:00""#),
        "{errors}"
    );
}

#[test]
fn duplicate_schedule_ids_are_refused() {
    let one = "[[schedules]]\nid = \"x\"\nevery = \"1h\"\npools = [\"p\"]\nmessage = \"m\"\n";
    let errors = errors_of(&format!("{one}{one}"));
    assert!(
        errors.contains(r#"schedules[1].id: duplicate schedule id "x""#),
        "{errors}"
    );
}

#[test]
fn half_a_key_pair_is_refused() {
    let errors = errors_of("[workspace.credentials]\naccess_key_file = \"/x/ak\"\n");
    assert!(
        errors.contains("workspace.credentials.secret_key_file"),
        "{errors}"
    );
    let errors = errors_of("[workspace.credentials]\nsecurity_token_file = \"/x/t\"\n");
    assert!(
        errors.contains("workspace.credentials.security_token_file: a security token goes with"),
        "{errors}"
    );
}

#[test]
fn the_packaged_config_is_valid_and_holds_no_secret_keys() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/packaged.toml"))
            .unwrap();
    let config = parse(&text).unwrap();
    assert!(
        config.daemon.dry_run,
        "a fresh install sends nothing until configured"
    );
    assert!(
        !text.contains("secret_key ="),
        "no secret in the packaged file"
    );
}

#[test]
fn max_message_chars_applies_to_file_schedules() {
    let errors = errors_of(
        "[workspace]\nmax_message_chars = 5\n[[schedules]]\nid = \"x\"\nevery = \"1h\"\npools = [\"p\"]\nmessage = \"too long\"\n",
    );
    assert!(
        errors.contains(
            "schedules[0].message: is 8 characters, more than workspace.max_message_chars = 5"
        ),
        "{errors}"
    );
}

#[test]
fn a_bad_key_in_one_workspace_does_not_make_schedules_name_an_unknown_one() {
    let errors = errors_of(
        "[[workspaces]]\nname = \"cn\"\n[[workspaces]]\nname = \"ap\"\nrequest_timeout = \"forever\"\n[[schedules]]\nid = \"x\"\nworkspace = \"ap\"\nevery = \"1h\"\npools = [\"p\"]\nmessage = \"m\"\n",
    );
    assert!(errors.contains("workspaces[1].request_timeout"), "{errors}");
    assert!(!errors.contains("unknown workspace"), "{errors}");
}

#[test]
fn task_warnings_are_validated_key_by_key() {
    let errors = errors_of(
        r#"
[workspace_tasks]
poll_interval = "1s"
[[schedules]]
id = "nightly"
every = "1h"
pools = ["p"]
message = "m"
[[task_warnings]]
id = "nightly"
task_types = ["REBOOT", "EXECUTE_SCRIPT"]
task_name = " "
notify_before = []
message = "{action} at {whenever}"
audience = "some"
[[maintenance_windows]]
id = "w"
start = "2030-01-01T00:00:00Z"
duration = "1h"
notify_before = ["5m"]
pools = ["p"]
message = "Your desktop will {action}."
"#,
    );
    for expected in [
        r#"workspace_tasks.poll_interval: must be between 5s and 1h, got "1s""#,
        r#"task_warnings[0].id: "nightly" is also a schedule or window id"#,
        r#"task_warnings[0].task_types[1]: "EXECUTE_SCRIPT" is not a task type that changes a desktop"#,
        "task_warnings[0].task_name: must not be empty",
        "task_warnings[0].notify_before: must list at least one duration",
        "task_warnings[0].message: task_warnings \"nightly\": unknown variable {whenever}",
        r#"task_warnings[0].audience: must be "all" or "connected", got "some""#,
        "maintenance_windows[0].message: window \"w\": {action} and {task_name} are only known in [[task_warnings]] messages",
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in:\n{errors}"
        );
    }
}

#[test]
fn a_task_warning_rule_gets_the_documented_defaults() {
    let config = parse(
        "[[task_warnings]]\nid = \"r\"\nnotify_before = [\"5m\", \"1h\"]\nmessage = \"{action}: {task_name}\"\n",
    )
    .unwrap();
    assert_eq!(
        config.workspace_tasks.poll_interval,
        Duration::from_secs(300)
    );
    let rule = &config.task_warnings[0];
    assert_eq!(
        rule.filter.task_types,
        ["REBOOT", "STOP", "HIBERNATE", "REBUILD"]
    );
    assert_eq!(rule.filter.task_name, None);
    assert_eq!(
        rule.leads,
        [Duration::from_secs(3600), Duration::from_secs(300)]
    );
    assert_eq!(rule.cancel_message, None);
}
