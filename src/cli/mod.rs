//! The command line: runs the command the arguments name (`args.rs`), maps failures to exit
//! codes (`error.rs`: 0 ok, 1 failure, 2 usage, 78 invalid configuration), and the helpers the
//! commands share. `main.rs` only calls [`main`].

#[macro_use]
mod term;
mod agenda;
mod api;
mod args;
mod audience;
mod audit;
mod check;
mod console;
mod error;
mod history;
mod json;
mod maintenance;
mod maintenance_verbs;
mod pager;
mod pauses;
mod render;
mod resend;
mod run;
mod schedule;
mod send;
mod send_test;
mod service;
mod show;
mod status;
mod store;
mod task_runs;
mod times;
mod tokens;
mod transfer;
mod when;

use clap::Parser;
use std::process::ExitCode;

pub use args::Cli;
pub(crate) use args::{Command, TargetArgs};
pub(crate) use error::CliError;
pub(crate) use error::{failure, invalid, not_found};

use crate::config;
use crate::platform::logging;

/// EX_CONFIG from sysexits.h; the unit's `RestartPreventExitStatus=78` stops restart loops.
pub const EXIT_CONFIG: u8 = 78;

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run) {
        restore_default_sigpipe();
    }
    // A command reading a long history on purpose is not a slow statement worth a warning;
    // the daemon keeps sqlx's.
    let level = match cli.command {
        Command::Run => "info",
        _ => "info,sqlx::query=error",
    };
    logging::init(cli.log_format, level);
    exit_on_panic();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            tell!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Long listings go through a pager on a terminal (like git); the rest print directly.
    let pages = match &cli.command {
        Command::History(args) => args.command.is_none(),
        Command::Agenda(_) | Command::Status(_) => true,
        Command::Schedule(schedule::ScheduleCommand::List { .. }) => true,
        Command::Maintenance(maintenance::MaintenanceCommand::List { .. }) => true,
        _ => false,
    };
    let pager = pager::start(cli.no_pager || !pages);
    times::choose(cli.utc, cli.local);
    audit::set_note(cli.note.clone());
    let result = runtime.block_on(run(cli));
    pager.finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Reported(_)) => ExitCode::FAILURE,
        Err(err @ CliError::ReportedInvalid) => ExitCode::from(err.exit_code()),
        Err(err) => {
            tell!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// EX_SOFTWARE from sysexits.h: the process ended on an internal error (a panic).
pub const EXIT_PANIC: i32 = 70;

/// A panic anywhere (a spawned task included, which tokio would otherwise catch while the
/// process lives on without it) is logged at error and ends the process with
/// [`EXIT_PANIC`], so systemd's `Restart=on-failure` brings the service back whole. Rows
/// already committed are safe; unfinished ones are resumed at the next start.
fn exit_on_panic() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        tracing::error!(
            place,
            "internal error (panic): {message}; exiting so that the service manager restarts the process"
        );
        std::process::exit(EXIT_PANIC);
    }));
}

/// Rust ignores SIGPIPE, so `history | head` would panic on a closed stdout. One-shot
/// commands get the default (a quiet exit), like other Unix tools; the daemon keeps ignoring it
/// so a closed log pipe can never kill it.
fn restore_default_sigpipe() {
    // SAFETY: called once at start, before any thread is spawned; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run => run::run(&cli.config).await,
        Command::Check(args) => check::run(&cli.config, args).await,
        Command::Send(args) => send::run(&cli.config, args).await,
        Command::History(args) => history::run(&cli.config, args).await,
        Command::Show(args) => show::run(&cli.config, args).await,
        Command::Resend(args) => resend::run(&cli.config, args).await,
        Command::Status(args) => status::run(&cli.config, args).await,
        Command::Audience(args) => audience::run(&cli.config, args).await,
        Command::Audit(args) => audit::run(&cli.config, args).await,
        Command::Token(command) => tokens::run(&cli.config, command).await,
        Command::Agenda(args) => agenda::run(&cli.config, args).await,
        Command::Freeze(args) => pauses::run(&cli.config, args).await,
        Command::Schedule(command) => schedule::run(&cli.config, command).await,
        Command::Maintenance(command) => maintenance::run(&cli.config, command).await,
        Command::Store(command) => store::run(command).await,
        Command::Completions { shell } => {
            use std::io::Write;
            std::io::stdout().write_all(completions(shell).as_bytes())?;
            Ok(())
        }
    }
}

/// The completion script for `shell`, as `completions` prints it and the package ships it.
///
/// clap_complete 4.6 names bash's states inconsistently for a hyphenated binary: the loop over
/// the words sets `workspace__notifier__subcmd__history`, the `case` that offers the options
/// tests `workspace__subcmd__notifier__subcmd__history`, so nothing is completed after the
/// first word (clap-rs/clap#6421). The labels are renamed to what the loop sets.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "workspace-notifier", &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    match shell {
        clap_complete::Shell::Bash => {
            text.replace("workspace__subcmd__notifier__", "workspace__notifier__")
        }
        _ => text,
    }
}

/// A one-off time given on the command line that has already passed: refused (exit 78), as
/// it would never fire. `consequence` says what that means for this command.
pub(crate) fn refuse_past(
    flag: &str,
    trigger: &crate::domain::trigger::Trigger,
    consequence: &str,
) -> Result<(), CliError> {
    match trigger {
        crate::domain::trigger::Trigger::At(at) if *at <= chrono::Utc::now() => Err(invalid(
            flag,
            format!(
                "{} is in the past: {consequence}",
                crate::store::format_time(*at)
            ),
        )),
        _ => Ok(()),
    }
}

/// The CLI flag for a schedule or window field, for error messages (`pools` is `--pool`).
pub(crate) fn flag_name(field: &str) -> String {
    match field {
        "pools" => "--pool".to_owned(),
        "desktops" => "--desktop".to_owned(),
        "tags" => "--tag".to_owned(),
        "users" => "--user".to_owned(),
        "resend_failed.attempts" => "--resend-attempts".to_owned(),
        "resend_failed.after" => "--resend-after".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

/// Runs a config-file validator with CLI flag names for the keys: the value, or every failed
/// rule as invalid input (exit 78).
pub(crate) fn validate_flags<T>(
    validate: impl FnOnce(&dyn Fn(&str) -> String, &mut crate::config::Errors) -> Option<T>,
) -> Result<T, CliError> {
    let mut errors = crate::config::Errors::default();
    match validate(&flag_name, &mut errors) {
        Some(value) if errors.is_empty() => Ok(value),
        _ => Err(CliError::Invalid(errors.into_vec())),
    }
}

/// The database for a read-only command (`history`, `status`, `show`, `schedule list/show`,
/// `maintenance list`): never created by it, so a command run as root before the service ever
/// started cannot leave a root-owned file the service may not write.
pub(crate) async fn open_existing_store(
    config: &config::Config,
) -> Result<crate::store::Store, CliError> {
    if let Some(path) = config.daemon.database.missing_file() {
        return Err(failure(format!(
            "no database yet at {} (the service creates it on first start)",
            path.display()
        )));
    }
    Ok(crate::engine::wiring::open_store(config).await?)
}

/// Every schedule and window (file and database, paused ones included) with the stored
/// progress of each; database rows that break a rule are reported on stderr and left out.
/// Who runs this command, for the record of what it changed: `unix:USER`, the user `sudo`
/// was run by where there is one, else the login name, else the numeric uid.
pub(crate) fn actor() -> String {
    let name = ["SUDO_USER", "LOGNAME", "USER"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|name| !name.is_empty() && name.len() <= 64)
        // SAFETY: getuid has no preconditions and cannot fail.
        .unwrap_or_else(|| unsafe { libc::getuid() }.to_string());
    format!("unix:{name}")
}

pub(crate) async fn load_catalog(
    config: &config::Config,
    store: &crate::store::Store,
) -> Result<
    (
        crate::engine::catalog::Catalog,
        std::collections::HashMap<String, crate::store::ScheduleState>,
    ),
    CliError,
> {
    let catalog = crate::engine::catalog::load(
        &config.schedules,
        &config.windows,
        &config.task_warnings,
        &config.defaults(),
        Some(store),
    )
    .await?;
    if term::warnings_on_stderr() {
        for problem in &catalog.problems {
            tell!("warning: {problem}");
        }
    }
    Ok((catalog, store.schedule_states().await?))
}

/// The listener's TLS configuration when `[api]` names the files: a file that cannot be read
/// or does not make one is a config error (78) naming its key.
pub(crate) fn tls_of(
    config: &config::Config,
) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, CliError> {
    config
        .api
        .tls
        .as_ref()
        .map(|files| {
            crate::platform::tls::server_config(&files.cert, &files.key)
                .map_err(|err| invalid(err.key, err.message))
        })
        .transpose()
}

/// Loads the config named on the command line.
pub(crate) fn load_config(path: &std::path::Path) -> Result<config::Config, CliError> {
    Ok(config::load(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_examples_in_its_help() {
        let mut root = Cli::command();
        root.build();
        let mut missing = Vec::new();
        for command in root.get_subcommands().filter(|c| c.get_name() != "help") {
            let leaves: Vec<&clap::Command> = match command.has_subcommands() {
                true => command
                    .get_subcommands()
                    .filter(|c| c.get_name() != "help")
                    .collect(),
                false => vec![command],
            };
            for leaf in leaves {
                let help = leaf
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if !help.contains("Example") {
                    missing.push(leaf.get_name().to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "no examples in --help of: {missing:?}");
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;
    use clap::CommandFactory;

    fn leaves(command: &clap::Command) -> Vec<clap::Command> {
        let mut out = vec![command.clone()];
        for sub in command.get_subcommands().filter(|c| c.get_name() != "help") {
            out.extend(leaves(sub));
        }
        out
    }

    #[test]
    fn every_flag_and_argument_has_help() {
        let mut root = Cli::command();
        root.build();
        let mut missing = Vec::new();
        for command in leaves(&root) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{} {}", command.get_name(), arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }

    #[test]
    fn examples_are_valid_shell_quoting() {
        let mut root = Cli::command();
        root.build();
        for command in leaves(&root) {
            let help = command
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            for line in help
                .lines()
                .filter(|l| l.trim_start().starts_with("workspace-notifier"))
            {
                // A shell's quoting states: outside, inside '...', inside "...".
                let mut state = ' ';
                for c in line.chars() {
                    state = match (state, c) {
                        (' ', '\'' | '"') => c,
                        ('\'', '\'') | ('"', '"') => ' ',
                        (s, _) => s,
                    };
                }
                assert_eq!(state, ' ', "unbalanced quotes in: {line}");
            }
        }
    }
}
