//! Bad input, table-driven: invalid configs, environment overrides, files and command-line
//! arguments. Each must give its exit code and a message naming the key, flag or file, and
//! none may panic or hang.

use std::time::Duration;

use crate::helpers::*;

/// One bad input: how to make it, what `check` (or the command given) must answer.
struct Case {
    name: &'static str,
    /// Edits the valid base config text (replace a line, append a section).
    edit: Box<dyn Fn(&str) -> String>,
    /// The command; `{config}` is replaced by the config path. Default: `check`.
    args: Vec<&'static str>,
    env: Vec<(&'static str, String)>,
    code: i32,
    /// Must appear in stderr (usually the key path or flag).
    needle: String,
}

fn case(
    name: &'static str,
    edit: impl Fn(&str) -> String + 'static,
    code: i32,
    needle: &str,
) -> Case {
    Case {
        name,
        edit: Box::new(edit),
        args: vec!["check", "--config", "{config}"],
        env: Vec::new(),
        code,
        needle: needle.to_owned(),
    }
}

/// The base config with `line` replaced by `with`.
fn replace(line: &'static str, with: &'static str) -> impl Fn(&str) -> String {
    move |text: &str| {
        assert!(text.contains(line), "base config has no {line:?}");
        text.replacen(line, with, 1)
    }
}

fn append(extra: String) -> impl Fn(&str) -> String {
    move |text: &str| format!("{text}\n{extra}\n")
}

/// One schedule with a valid body and `field` set as given (replacing the default line).
fn schedule_with(field: &str, value: &str) -> String {
    let mut lines = vec![
        ("id", "\"s\"".to_owned()),
        ("cron", "\"0 0 9 * * *\"".to_owned()),
        ("pools", format!("[\"{POOL}\"]")),
        ("message", "\"hello\"".to_owned()),
    ];
    match lines.iter_mut().find(|(k, _)| *k == field) {
        Some(line) => line.1 = value.to_owned(),
        None => lines.push((
            Box::leak(field.to_owned().into_boxed_str()),
            value.to_owned(),
        )),
    }
    let body: Vec<String> = lines.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!("[[schedules]]\n{}\n", body.join("\n"))
}

fn bad_schedule(name: &'static str, field: &str, value: &str, needle: &str) -> Case {
    let section = schedule_with(field, value);
    case(name, append(section), 78, needle)
}

fn window_with(field: &str, value: &str) -> String {
    let mut text = format!(
        "[[maintenance_windows]]\nid = \"w\"\nstart = \"2030-01-01T22:00:00Z\"\nduration = \"1h\"\nnotify_before = [\"15m\"]\npools = [\"{POOL}\"]\nmessage = \"at {{start}}\"\n"
    );
    let prefix = format!("{field} = ");
    match text.lines().find(|l| l.starts_with(&prefix)) {
        Some(line) => text = text.replacen(line, &format!("{field} = {value}"), 1),
        None => text.push_str(&format!("{field} = {value}\n")),
    }
    text
}

fn bad_window(name: &'static str, field: &str, value: &str, needle: &str) -> Case {
    case(name, append(window_with(field, value)), 78, needle)
}

fn cli(name: &'static str, args: Vec<&'static str>, code: i32, needle: &str) -> Case {
    Case {
        args,
        ..case(name, |t: &str| t.to_owned(), code, needle)
    }
}

fn with_env(mut case: Case, name: &'static str, value: &str) -> Case {
    case.env.push((name, value.to_owned()));
    case
}

fn cases(env: &TestEnv) -> Vec<Case> {
    let missing = env.path("no-such-file").display().to_string();
    let dir = env.dir.path().display().to_string();
    let empty = env.path("empty-secret").display().to_string();
    let long_id = format!("\"{}\"", "a".repeat(65));
    let ak_line = format!("access_key_file = \"{}\"", env.path("ak").display());
    let sk_line = format!("secret_key_file = \"{}\"", env.path("sk").display());
    let (ak1, ak2, ak3, sk1) = (
        ak_line.clone(),
        ak_line.clone(),
        ak_line.clone(),
        sk_line.clone(),
    );
    let (missing1, dir1, empty1) = (missing.clone(), dir.clone(), empty.clone());
    vec![
        // [daemon]
        case(
            "dry_run as a string",
            replace(
                "timezone = \"UTC\"",
                "timezone = \"UTC\"\ndry_run = \"yes\"",
            ),
            78,
            "daemon.dry_run",
        ),
        case(
            "max_in_flight as a string",
            replace("max_in_flight = 8", "max_in_flight = \"lots\""),
            78,
            "daemon.max_in_flight",
        ),
        case(
            "max_in_flight zero",
            replace("max_in_flight = 8", "max_in_flight = 0"),
            78,
            "daemon.max_in_flight",
        ),
        case(
            "max_in_flight too large",
            replace("max_in_flight = 8", "max_in_flight = 5000"),
            78,
            "daemon.max_in_flight",
        ),
        case(
            "unknown daemon zone",
            replace("timezone = \"UTC\"", "timezone = \"Mars/Base\""),
            78,
            "daemon.timezone",
        ),
        case(
            "daemon zone as a number",
            replace("timezone = \"UTC\"", "timezone = 5"),
            78,
            "daemon.timezone",
        ),
        case(
            "shutdown_grace too long",
            replace("shutdown_grace = \"2s\"", "shutdown_grace = \"2h\""),
            78,
            "daemon.shutdown_grace",
        ),
        case(
            "shutdown_grace not a duration",
            replace("shutdown_grace = \"2s\"", "shutdown_grace = \"soon\""),
            78,
            "daemon.shutdown_grace",
        ),
        case(
            "database empty",
            |t: &str| replace_database(t, "\"\""),
            78,
            "daemon.database",
        ),
        Case {
            args: vec!["run", "--config", "{config}"],
            ..case(
                "database directory missing, run",
                |t: &str| replace_database(t, "\"/nonexistent-dir/x/state.db\""),
                78,
                "daemon.database",
            )
        },
        // `check` on a fresh package install: systemd creates the directory at the first
        // start, so the file is valid and the missing directory is a warning.
        case(
            "database directory missing, check",
            |t: &str| replace_database(t, "\"/nonexistent-dir/x/state.db\""),
            0,
            "warning: daemon.database: /nonexistent-dir/x/state.db: directory /nonexistent-dir/x does not exist",
        ),
        case(
            "database as a number",
            |t: &str| replace_database(t, "7"),
            78,
            "daemon.database",
        ),
        case(
            "database URL holding a password",
            |t: &str| replace_database(t, "\"postgres://notifier:hunter2@db.internal/notifier\""),
            78,
            "daemon.database: \"postgres://notifier:REDACTED@db.internal/notifier\": the URL holds a password",
        ),
        case(
            "database URL without a host",
            |t: &str| replace_database(t, "\"postgres:///notifier\""),
            78,
            "daemon.database: \"postgres:///notifier\" names no host",
        ),
        case(
            "database_pool_size zero",
            replace(
                "max_in_flight = 8",
                "max_in_flight = 8\ndatabase_pool_size = 0",
            ),
            78,
            "daemon.database_pool_size",
        ),
        case(
            "database_timeout too short",
            replace(
                "max_in_flight = 8",
                "max_in_flight = 8\ndatabase_timeout = \"1ms\"",
            ),
            78,
            "daemon.database_timeout",
        ),
        case(
            "instance_lease too short",
            |t: &str| {
                t.replace("instance_lease = \"3s\"\n", "").replace(
                    "max_in_flight = 8",
                    "max_in_flight = 8\ninstance_lease = \"1s\"",
                )
            },
            78,
            "daemon.instance_lease",
        ),
        case(
            "unknown daemon key",
            replace("max_in_flight = 8", "max_in_flight = 8\nbogus = 1"),
            78,
            "bogus",
        ),
        // [workspace]
        case(
            "request_timeout zero",
            replace("request_timeout = \"2s\"", "request_timeout = \"0s\""),
            78,
            "workspace.request_timeout",
        ),
        case(
            "request_timeout too long",
            replace("request_timeout = \"2s\"", "request_timeout = \"1h\""),
            78,
            "workspace.request_timeout",
        ),
        case(
            "request_timeout too short",
            replace("request_timeout = \"2s\"", "request_timeout = \"10ms\""),
            78,
            "workspace.request_timeout",
        ),
        case(
            "endpoint not http",
            |t: &str| replace_key(t, "endpoint", "endpoint = \"ftp://example.com\""),
            78,
            "workspace.endpoint",
        ),
        case(
            "endpoint plain http off loopback",
            |t: &str| replace_key(t, "endpoint", "endpoint = \"http://example.com\""),
            78,
            "workspace.endpoint",
        ),
        case(
            "unknown region",
            |t: &str| replace_key(t, "endpoint", "region = \"mars-1\""),
            78,
            "workspace.region",
        ),
        case(
            "bad project id",
            |t: &str| replace_key(t, "project_id", "project_id = \"bad id!\""),
            78,
            "workspace.project_id",
        ),
        case(
            "project id missing",
            |t: &str| replace_key(t, "project_id", ""),
            78,
            "workspace.project_id",
        ),
        case(
            "max_message_chars negative",
            replace(
                "request_timeout = \"2s\"",
                "request_timeout = \"2s\"\nmax_message_chars = -1",
            ),
            78,
            "workspace.max_message_chars",
        ),
        case(
            "max_message_chars as a string",
            replace(
                "request_timeout = \"2s\"",
                "request_timeout = \"2s\"\nmax_message_chars = \"many\"",
            ),
            78,
            "workspace.max_message_chars",
        ),
        case(
            "access key file missing",
            move |t: &str| t.replacen(&ak1, &format!("access_key_file = \"{missing1}\""), 1),
            78,
            &missing,
        ),
        case(
            "access key file is a directory",
            move |t: &str| t.replacen(&ak2, &format!("access_key_file = \"{dir1}\""), 1),
            78,
            &dir,
        ),
        case(
            "secret key file empty",
            move |t: &str| t.replacen(&sk1, &format!("secret_key_file = \"{empty1}\""), 1),
            78,
            &empty,
        ),
        case(
            "token and AK/SK both",
            move |t: &str| t.replacen(&ak3, &format!("{ak3}\ntoken_file = \"x\""), 1),
            78,
            "workspace.credentials.token_file",
        ),
        case(
            "credentials key as a number",
            replace(
                "[workspace.credentials]",
                "[workspace.credentials]\nsecurity_token_file = 3",
            ),
            78,
            "workspace.credentials.security_token_file",
        ),
        // [retry]
        case(
            "max_attempts zero",
            replace("max_attempts = 4", "max_attempts = 0"),
            78,
            "retry.max_attempts",
        ),
        case(
            "max_attempts as a string",
            replace("max_attempts = 4", "max_attempts = \"3\""),
            78,
            "retry.max_attempts",
        ),
        case(
            "initial_delay zero",
            replace("initial_delay = \"100ms\"", "initial_delay = \"0s\""),
            78,
            "retry.initial_delay",
        ),
        case(
            "max_delay zero",
            replace("max_delay = \"400ms\"", "max_delay = \"0s\""),
            78,
            "retry.max_delay",
        ),
        case(
            "max_delay too long",
            replace("max_delay = \"400ms\"", "max_delay = \"2h\""),
            78,
            "retry.max_delay",
        ),
        case(
            "max_elapsed absurd",
            replace("max_elapsed = \"1m\"", "max_elapsed = \"300000000y\""),
            78,
            "retry.max_elapsed",
        ),
        case(
            "max_elapsed zero",
            replace("max_elapsed = \"1m\"", "max_elapsed = \"0s\""),
            78,
            "retry.max_elapsed",
        ),
        case(
            "initial_delay above max_delay",
            replace("initial_delay = \"100ms\"", "initial_delay = \"1s\""),
            78,
            "retry.initial_delay",
        ),
        // [[schedules]]
        bad_schedule(
            "misfire_grace absurd",
            "misfire_grace",
            "\"300000000y\"",
            "schedules[0].misfire_grace",
        ),
        bad_schedule(
            "misfire_grace over a month",
            "misfire_grace",
            "\"32d\"",
            "schedules[0].misfire_grace",
        ),
        case(
            "every below a second",
            append(schedule_with("cron", "\"1ms\"").replace("cron = ", "every = ")),
            78,
            "schedules[0].every: must be between 1s and 366d",
        ),
        case(
            "every zero",
            append(schedule_with("cron", "\"0s\"").replace("cron = ", "every = ")),
            78,
            "schedules[0].every: must be between 1s and 366d",
        ),
        case(
            "every over a year",
            append(schedule_with("cron", "\"400d\"").replace("cron = ", "every = ")),
            78,
            "schedules[0].every: must be between 1s and 366d",
        ),
        bad_schedule(
            "cron that never fires",
            "cron",
            "\"0 0 30 2 *\"",
            "schedules[0].cron: invalid cron expression \"0 0 30 2 *\": it never fires",
        ),
        bad_schedule(
            "cron out of range",
            "cron",
            "\"0 0 32 * *\"",
            "schedules[0].cron: invalid cron expression \"0 0 32 * *\": day-of-month 32 is out of range 1-31",
        ),
        bad_schedule(
            "cron with a name in another field",
            "cron",
            "\"0 9 * MON-FRI *\"",
            "schedules[0].cron: invalid cron expression \"0 9 * MON-FRI *\": month MON: MON is a day-of-week name, allowed only in the day-of-week field",
        ),
        bad_schedule(
            "cron with an empty list item",
            "cron",
            "\"0 9, 17 * * *\"",
            "schedules[0].cron: invalid cron expression \"0 9, 17 * * *\": minute 9, has an empty list item",
        ),
        bad_schedule("cron as a number", "cron", "5", "schedules[0].cron"),
        bad_schedule(
            "message with a window variable",
            "message",
            "\"Reminder for {date}\"",
            "schedules[0].message: {date} is a maintenance-window variable",
        ),
        bad_schedule(
            "unknown zone",
            "timezone",
            "\"Asia/Shangai\"",
            "schedules[0].timezone",
        ),
        bad_schedule("id with a space", "id", "\"has space\"", "schedules[0].id"),
        bad_schedule("empty id", "id", "\"\"", "schedules[0].id"),
        bad_schedule(
            "id too long",
            "id",
            Box::leak(long_id.into_boxed_str()),
            "schedules[0].id",
        ),
        case(
            "duplicate ids",
            append(format!(
                "{}{}",
                schedule_with("id", "\"d\""),
                schedule_with("id", "\"d\"")
            )),
            78,
            "schedules[1].id",
        ),
        bad_schedule("no pools", "pools", "[]", "schedules[0].pools"),
        bad_schedule("blank pool", "pools", "[\" \"]", "schedules[0].pools[0]"),
        bad_schedule(
            "pool listed twice",
            "pools",
            "[\"a\", \"a\"]",
            "schedules[0].pools",
        ),
        bad_schedule(
            "pools as a string",
            "pools",
            "\"abc\"",
            "schedules[0].pools",
        ),
        bad_schedule(
            "message as a number",
            "message",
            "42",
            "schedules[0].message",
        ),
        bad_schedule("empty message", "message", "\"\"", "schedules[0].message"),
        case(
            "at not a time",
            append(schedule_with("cron", "\"x\"").replace("cron = \"x\"", "at = \"tomorrow\"")),
            78,
            "schedules[0].at",
        ),
        case(
            "at too far",
            append(
                schedule_with("cron", "\"x\"")
                    .replace("cron = \"x\"", "at = \"9999-01-01T00:00:00Z\""),
            ),
            78,
            "schedules[0].at",
        ),
        bad_schedule("cron and every", "every", "\"1h\"", "schedules[0].cron"),
        bad_schedule(
            "start without every",
            "start",
            "\"2030-01-01T00:00:00Z\"",
            "schedules[0].start",
        ),
        bad_schedule(
            "unknown catch_up",
            "catch_up",
            "\"sometimes\"",
            "schedules[0].catch_up",
        ),
        bad_schedule(
            "enabled as a string",
            "enabled",
            "\"no\"",
            "schedules[0].enabled",
        ),
        bad_schedule("unknown schedule key", "misfire", "\"1m\"", "misfire"),
        // [[maintenance_windows]]
        bad_window(
            "window duration zero",
            "duration",
            "\"0s\"",
            "maintenance_windows[0].duration",
        ),
        bad_window(
            "window lead too long",
            "notify_before",
            "[\"40d\"]",
            "maintenance_windows[0].notify_before[0]",
        ),
        bad_window(
            "window unknown variable",
            "message",
            "\"at {bogus}\"",
            "maintenance_windows[0].message",
        ),
        bad_window(
            "window misfire_grace absurd",
            "misfire_grace",
            "\"300000000y\"",
            "maintenance_windows[0].misfire_grace",
        ),
        bad_window(
            "window cron never fires",
            "start",
            "\"x\"\ncron = \"0 0 30 2 *\"",
            "maintenance_windows[0]",
        ),
        // Environment overrides
        with_env(
            case(
                "env: number not a number",
                |t: &str| t.to_owned(),
                78,
                "max_in_flight",
            ),
            "WORKSPACE_NOTIFIER__DAEMON__MAX_IN_FLIGHT",
            "lots",
        ),
        with_env(
            case("env: unknown key", |t: &str| t.to_owned(), 78, "bogus"),
            "WORKSPACE_NOTIFIER__DAEMON__BOGUS",
            "1",
        ),
        with_env(
            case(
                "env: absurd duration",
                |t: &str| t.to_owned(),
                78,
                "retry.max_elapsed",
            ),
            "WORKSPACE_NOTIFIER__RETRY__MAX_ELAPSED",
            "300000000y",
        ),
        with_env(
            case(
                "env: unknown zone",
                |t: &str| t.to_owned(),
                78,
                "daemon.timezone",
            ),
            "WORKSPACE_NOTIFIER__DAEMON__TIMEZONE",
            "Nowhere/Land",
        ),
        // Files
        case(
            "not TOML",
            |_: &str| "[daemon\nx = ".to_owned(),
            78,
            "config.toml",
        ),
        cli(
            "config file missing",
            vec!["check", "--config", "{dir}/absent.toml"],
            78,
            "absent.toml",
        ),
        cli(
            "config file is a directory",
            vec!["check", "--config", "{dir}"],
            78,
            "cannot read the config file",
        ),
        // Command-line arguments
        cli(
            "check --next unbounded",
            vec!["check", "--config", "{config}", "--next", "5000"],
            2,
            "--next",
        ),
        cli(
            "check --from not a time",
            vec!["check", "--config", "{config}", "--from", "tomorrow"],
            78,
            "--from",
        ),
        cli(
            "schedule add absurd grace",
            add(&["--cron", "0 0 9 * * *", "--misfire-grace", "300000000y"]),
            78,
            "--misfire-grace",
        ),
        cli(
            "schedule add every 1ms",
            add(&["--every", "1ms"]),
            78,
            "--every",
        ),
        cli(
            "schedule add cron never fires",
            add(&["--cron", "0 0 30 2 *"]),
            78,
            "--cron",
        ),
        cli(
            "schedule add unknown catch-up",
            add(&["--cron", "0 0 9 * * *", "--catch-up", "sometimes"]),
            78,
            "--catch-up",
        ),
        cli(
            "schedule add bad id",
            vec![
                "schedule",
                "add",
                "--config",
                "{config}",
                "--id",
                "bad id",
                "--cron",
                "0 0 9 * * *",
                "--pool",
                "p",
                "--message",
                "m",
            ],
            78,
            "--id",
        ),
        cli(
            "schedule add unknown zone",
            add(&["--cron", "0 0 9 * * *", "--timezone", "Mars/X"]),
            78,
            "--timezone",
        ),
        cli(
            "schedule add no pool",
            vec![
                "schedule",
                "add",
                "--config",
                "{config}",
                "--id",
                "x",
                "--cron",
                "0 0 9 * * *",
                "--message",
                "m",
            ],
            78,
            "--pool",
        ),
        cli(
            "send blank pool",
            vec![
                "send",
                "--config",
                "{config}",
                "--pool",
                " ",
                "--message",
                "m",
            ],
            78,
            "--pool",
        ),
        cli(
            "maintenance add zero duration",
            window_add(&["--duration", "0s", "--notify-before", "15m"]),
            78,
            "--duration",
        ),
        cli(
            "maintenance add lead too long",
            window_add(&["--duration", "1h", "--notify-before", "40d"]),
            78,
            "--notify-before",
        ),
        cli(
            "history unknown status",
            vec!["history", "--config", "{config}", "--status", "bogus"],
            2,
            "--status",
        ),
        cli(
            "schedule add at a past time",
            add(&["--at", "2020-01-01T00:00:00Z"]),
            78,
            "--at: 2020-01-01T00:00:00Z is in the past",
        ),
        cli(
            "maintenance add starting in the past",
            vec![
                "maintenance",
                "add",
                "--config",
                "{config}",
                "--id",
                "w",
                "--start",
                "2020-01-01T22:00:00Z",
                "--pool",
                "p",
                "--message",
                "m",
                "--duration",
                "1h",
                "--notify-before",
                "15m",
            ],
            78,
            "--start: 2020-01-01T22:00:00Z is in the past",
        ),
        cli(
            "history negative limit",
            vec!["history", "--config", "{config}", "--limit=-1"],
            2,
            "--limit",
        ),
        cli(
            "history limit not a number",
            vec!["history", "--config", "{config}", "--limit", "abc"],
            2,
            "--limit",
        ),
        cli(
            "history since not a time",
            vec!["history", "--config", "{config}", "--since", "tuesday-ish"],
            2,
            "--since",
        ),
    ]
}

/// The base config with the line starting `key = ` replaced by `with`.
fn replace_key(text: &str, key: &str, with: &str) -> String {
    let prefix = format!("{key} = ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap();
    text.replacen(line, with, 1)
}

fn replace_database(text: &str, value: &str) -> String {
    replace_key(text, "database", &format!("database = {value}"))
}

fn add(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "schedule",
        "add",
        "--config",
        "{config}",
        "--id",
        "x",
        "--pool",
        "p",
        "--message",
        "m",
    ];
    args.extend_from_slice(extra);
    args
}

fn window_add(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "maintenance",
        "add",
        "--config",
        "{config}",
        "--id",
        "w",
        "--start",
        "2030-01-01T22:00:00Z",
        "--pool",
        "p",
        "--message",
        "at {start}",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn every_bad_input_is_refused_with_its_code_and_names_the_culprit() {
    let env = TestEnv::new().await;
    std::fs::write(env.path("empty-secret"), "").unwrap();
    let base = std::fs::read_to_string(env.write_config("")).unwrap();
    let all = cases(&env);
    assert!(all.len() >= 60, "only {} cases", all.len());
    let mut failures = Vec::new();
    for case in &all {
        let config = env.path("config.toml");
        std::fs::write(&config, (case.edit)(&base)).unwrap();
        let dir = env.dir.path().display().to_string();
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| {
                a.replace("{config}", config.to_str().unwrap())
                    .replace("{dir}", &dir)
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = case.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let Ok(out) =
            tokio::time::timeout(Duration::from_secs(20), env.run_env(&args, &envs)).await
        else {
            failures.push(format!("{}: hung", case.name));
            continue;
        };
        let err = stderr(&out);
        if out.status.code() != Some(case.code)
            || !err.contains(&case.needle)
            || err.contains("panicked")
        {
            failures.push(format!(
                "{}: expected exit {} naming {:?}, got {:?}:\n{err}",
                case.name,
                case.code,
                case.needle,
                out.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_database_that_is_not_sqlite_or_is_newer_is_refused_without_damage() {
    let env = TestEnv::new().await;
    if !env.sqlite_only("a_database_that_is_not_sqlite_or_is_newer_is_refused_without_damage") {
        return;
    }
    let config = env.write_config("");
    let config = config.to_str().unwrap();
    std::fs::write(
        env.db_path(),
        b"this is not a database, and must stay as it is",
    )
    .unwrap();
    let out = env.run(&["schedule", "list", "--config", config]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let name = env.db_path().display().to_string();
    assert!(stderr(&out).contains(&name), "{}", stderr(&out));
    // At once, saying why (it used to wait for the pool's 30 s timeout).
    assert!(
        stderr(&out).contains("file is not a database"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(env.db_path()).unwrap(),
        b"this is not a database, and must stay as it is"
    );
    std::fs::remove_file(env.db_path()).unwrap();
    // Read-only commands do not create a database.
    for command in [
        &["schedule", "list"][..],
        &["maintenance", "list"],
        &["history"],
        &["status"],
        &["show", "1"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--config", config]);
        let out = env.run(&args).await;
        assert_eq!(out.status.code(), Some(1), "{command:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("no database yet at"),
            "{}",
            stderr(&out)
        );
        assert!(!env.db_path().exists(), "{command:?} created the database");
    }
    env.create_database(std::path::Path::new(config)).await;
    let db = env.db().await;
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'from the future', 1, x'00', 0)")
        .execute(&db)
        .await
        .unwrap();
    let out = env.run(&["schedule", "list", "--config", config]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("newer version"), "{}", stderr(&out));
}

#[tokio::test]
async fn check_json_reports_errors_as_json_with_exit_78() {
    let env = TestEnv::new().await;
    let config = env.write_config(&schedule_toml("bad", "every = \"1ms\"", &[POOL], ""));
    let out = env
        .run(&["check", "--json", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["errors"][0]["key"], "schedules[0].every");
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("between 1s and 366d")
    );
    // A load error (wrong type) has a message naming the key, and no single key field.
    std::fs::write(&config, "[daemon]\ndry_run = \"yes\"\n").unwrap();
    let out = env
        .run(&["check", "--json", "--config", config.to_str().unwrap()])
        .await;
    assert_eq!(out.status.code(), Some(78));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("daemon.dry_run")
    );
    // And a valid one says valid, with UTC times ending in Z.
    let good = env.write_config(&schedule_toml("ok", "cron = \"0 0 9 * * *\"", &[POOL], ""));
    let out = env
        .run(&["check", "--json", "--config", good.to_str().unwrap()])
        .await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["valid"], true);
    assert!(doc["from"].as_str().unwrap().ends_with('Z'));
    assert!(
        doc["schedules"][0]["upcoming"][0]["due_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[tokio::test]
async fn store_copy_onto_its_own_source_is_refused_however_spelled() {
    let env = TestEnv::new().await;
    if !env.sqlite_only("store_copy_onto_its_own_source_is_refused_however_spelled") {
        return;
    }
    let config = env.write_config("");
    env.create_database(&config).await;
    let source = env.db_path();
    std::os::unix::fs::symlink(&source, env.path("link.db")).unwrap();
    std::fs::hard_link(&source, env.path("hard.db")).unwrap();
    let before = std::fs::read(&source).unwrap();
    let absolute = source.display().to_string();
    for to in [
        "./state.db",
        absolute.as_str(),
        "link.db",
        env.path("hard.db").to_str().unwrap(),
    ] {
        let out = env
            .run(&["store", "copy", "--from", "state.db", "--to", to, "--force"])
            .await;
        assert_eq!(out.status.code(), Some(78), "{to}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is also --from"),
            "{to}: {}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&source).unwrap(), before);
}
