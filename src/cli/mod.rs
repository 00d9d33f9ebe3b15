//! The command line: parses arguments, runs the command, maps errors to exit codes
//! (0 ok, 1 failure, 2 usage, 78 invalid configuration). `main.rs` only calls [`main`].

#[macro_use]
mod term;
mod check;
mod history;
mod json;
mod maintenance;
mod render;
mod resend;
mod run;
mod schedule;
mod send;
mod show;
mod status;
mod store;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, ConfigError, FieldError};
use crate::engine::wiring::SetupError;
use crate::platform::logging::{self, LogFormat};

/// EX_CONFIG from sysexits.h; the unit's `RestartPreventExitStatus=78` stops restart loops.
pub const EXIT_CONFIG: u8 = 78;

#[derive(Debug, Parser)]
#[command(
    name = "workspace-notifier",
    version,
    about = "Scheduled notifications to Huawei Cloud Workspace desktop pools"
)]
pub struct Cli {
    /// Config file (TOML).
    #[arg(long, global = true, env = "WORKSPACE_NOTIFIER_CONFIG", default_value = config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// Log format; `auto` drops timestamps when stderr is the systemd journal.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: apply migrations, load schedules, fire them until SIGTERM.
    #[command(
        after_help = "Examples:\n  workspace-notifier run --config config/example.toml\n\nSIGTERM stops (in-flight attempts get daemon.shutdown_grace), SIGHUP reloads the config file."
    )]
    Run,
    /// Validate the config and list each schedule's next fire times (exit 0 valid, 78 invalid).
    #[command(
        after_help = "Examples:\n  workspace-notifier check --config config/example.toml\n  workspace-notifier check --next 5 --from 2026-03-28T00:00:00+01:00 --json"
    )]
    Check(check::CheckArgs),
    /// Send one notification now, through the same path as the daemon (recorded, retried).
    #[command(
        after_help = "Examples:\n  workspace-notifier send --config config/example.toml \\\n      --pool a130ab3a-72bf-4b71-baa9-af4987c8e338 --message 'Desktops restart at 22:00'\n\nPrints the job_id and exits 0 when sent; prints the API's error and exits 1 when it failed."
    )]
    Send(send::SendArgs),
    /// Manage schedules kept in the database (a running daemon applies changes within 2 s).
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Maintenance windows: countdown warnings before a window, start and end messages.
    #[command(subcommand)]
    Maintenance(maintenance::MaintenanceCommand),
    /// Move the stored history and schedules to another store (SQLite to PostgreSQL).
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  workspace-notifier completions bash > /etc/bash_completion.d/workspace-notifier\n  workspace-notifier completions zsh > \"${fpath[1]}/_workspace-notifier\"\n  workspace-notifier completions fish > ~/.config/fish/completions/workspace-notifier.fish"
    )]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Show deliveries, newest first.
    #[command(
        after_help = "Examples:\n  workspace-notifier history --config config/example.toml --limit 20\n  workspace-notifier history --status failed --json"
    )]
    History(history::HistoryArgs),
    /// Show one delivery: its attempts and, once its job was followed, each desktop's result.
    #[command(
        after_help = "Examples:\n  workspace-notifier show 42 --config config/example.toml\n  workspace-notifier show 42 --json"
    )]
    Show(show::ShowArgs),
    /// Send a delivery's text again to the desktops that did not get it.
    #[command(
        after_help = "Examples:\n  workspace-notifier resend 42 --config config/example.toml\n\nOnly desktops whose sub-job failed are sent to, in batches of [jobs] desktop_batch; each batch is a new delivery linked to 42 (see `show`)."
    )]
    Resend(resend::ResendArgs),
    /// Every schedule and window: next fire, last fire and how it went (like list-timers).
    #[command(
        after_help = "Examples:\n  workspace-notifier status --config config/example.toml\n  workspace-notifier status --json\n\nFailing schedules (failed, missed or partial last time) come first."
    )]
    Status(status::StatusArgs),
}

/// Why a command failed, and so its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid input:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Already explained on stderr/stdout; only the exit code is left to give.
    #[error("{0}")]
    Reported(String),
    /// Already reported (as JSON); the input was invalid: exit 78.
    #[error("invalid input (reported above)")]
    ReportedInvalid,
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for CliError {
    fn from(err: crate::store::StoreError) -> Self {
        CliError::Failed(err.into())
    }
}

impl From<crate::engine::immediate::ImmediateError> for CliError {
    fn from(err: crate::engine::immediate::ImmediateError) -> Self {
        use crate::engine::immediate::ImmediateError;
        match err {
            ImmediateError::Setup(err) => CliError::Setup(err),
            other => CliError::Failed(other.into()),
        }
    }
}

impl From<crate::engine::daemon::DaemonError> for CliError {
    fn from(err: crate::engine::daemon::DaemonError) -> Self {
        use crate::engine::daemon::DaemonError;
        match err {
            DaemonError::Setup(err) => CliError::Setup(err),
            other => CliError::Failed(other.into()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::Failed(err.into())
    }
}

impl CliError {
    /// The errors as `{key, message}` pairs (`key` null when no single key is to blame), for
    /// `--json` output.
    pub fn as_json_errors(&self) -> Vec<serde_json::Value> {
        let pair = |key: Option<&str>, message: String| serde_json::json!({"key": key, "message": message});
        match self {
            CliError::Config(ConfigError::Invalid { errors, .. }) | CliError::Invalid(errors) => {
                errors
                    .iter()
                    .map(|e| pair(Some(&e.key), e.message.clone()))
                    .collect()
            }
            other => vec![pair(None, other.to_string())],
        }
    }

    /// The process exit code: the one place that maps errors to codes.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Invalid(_) => EXIT_CONFIG,
            CliError::Setup(SetupError::Client(_)) => 1,
            CliError::Setup(_) => EXIT_CONFIG,
            CliError::Reported(_) | CliError::Failed(_) => 1,
            CliError::ReportedInvalid => EXIT_CONFIG,
        }
    }
}

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run) {
        restore_default_sigpipe();
    }
    logging::init(cli.log_format, "info");
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
    match runtime.block_on(run(cli)) {
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

/// `--desktop` and `--resend-attempts`/`--resend-after`, shared by `schedule add` and
/// `maintenance add`.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// A desktop id to notify (besides or instead of --pool); repeat for several.
    #[arg(long = "desktop")]
    pub desktops: Vec<String>,
    /// Re-send to the desktops that did not get it, at most this many times (1-5).
    #[arg(long, requires = "resend_after")]
    pub resend_attempts: Option<i64>,
    /// How long after the job's result a re-send goes out, e.g. 2m (10s-1h).
    #[arg(long, requires = "resend_attempts")]
    pub resend_after: Option<String>,
}

impl TargetArgs {
    pub(crate) fn stored(&self) -> crate::store::StoredTargets {
        crate::store::StoredTargets {
            desktops: self.desktops.clone(),
            resend_attempts: self.resend_attempts,
            resend_after: self.resend_after.clone(),
        }
    }
}

/// The database for a read-only command (`history`, `status`, `show`, `schedule list/show`,
/// `maintenance list`): never created by it, so a command run as root before the service ever
/// started cannot leave a root-owned file the service may not write.
pub(crate) async fn open_existing_store(
    config: &config::Config,
) -> Result<crate::store::Store, CliError> {
    if let Some(path) = config.daemon.database.sqlite_path()
        && !path.exists()
    {
        return Err(failure(format!(
            "no database yet at {} (the service creates it on first start)",
            path.display()
        )));
    }
    Ok(crate::engine::wiring::open_store(config).await?)
}

/// A failure (exit 1) explained by `message`.
pub(crate) fn failure(message: impl std::fmt::Display) -> CliError {
    CliError::Failed(anyhow::anyhow!("{message}"))
}

/// An invalid-input error (exit 78) for one argument.
pub(crate) fn invalid(key: &str, message: String) -> CliError {
    CliError::Invalid(vec![FieldError {
        key: key.to_owned(),
        message,
    }])
}

/// Every schedule and window (file and database, paused ones included) with the stored
/// progress of each; database rows that break a rule are reported on stderr and left out.
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
        config.daemon.timezone,
        Some(store),
    )
    .await?;
    for problem in &catalog.problems {
        tell!("warning: {problem}");
    }
    Ok((catalog, store.schedule_states().await?))
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
