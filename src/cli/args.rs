//! The command line's grammar: the clap tree of commands and the arguments shared by several.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use super::{
    agenda, audience, check, history, maintenance, pauses, resend, schedule, send, show, status,
    store,
};
use crate::config;
use crate::platform::logging::LogFormat;

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
    /// Print long output directly, not through $PAGER (which is used only on a terminal).
    #[arg(long, global = true)]
    pub no_pager: bool,
    /// Why: recorded with the change in the audit trail (and shown with a pause or freeze).
    #[arg(long, global = true, allow_hyphen_values = true)]
    pub note: Option<String>,
    /// Show times in UTC.
    #[arg(long, global = true, conflicts_with = "local")]
    pub utc: bool,
    /// Show times in this machine's zone (`TZ`), not each schedule's own.
    #[arg(long, global = true)]
    pub local: bool,
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
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  workspace-notifier history --config config/example.toml --limit 20\n  workspace-notifier history --status failed --json\n  workspace-notifier history --since yesterday --until 09:00 --target a130ab3a-72bf-4b71-baa9-af4987c8e338\n  workspace-notifier history prune --older-than 90d"
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
    /// Pause every schedule at once (a change freeze); `--end` ends it.
    #[command(
        after_help = "Examples:\n  workspace-notifier freeze --until \"2026-12-28 08:00\" --note \"year-end change freeze\"\n  workspace-notifier freeze --end\n\nMaintenance windows and warnings of Workspace's own tasks keep going (they announce real events) unless --include-windows. Applied by a running daemon within 2 s; `status` shows it."
    )]
    Freeze(pauses::FreezeArgs),
    /// Every message that will go out, in time order (default: the next 24 hours).
    #[command(
        after_help = "Examples:\n  workspace-notifier agenda --config config/example.toml\n  workspace-notifier agenda --since 18:00 --until +12h\n  workspace-notifier agenda --until tomorrow --json\n\nSchedule occurrences, maintenance warnings, start and end messages, and warnings of Workspace's own tasks, rendered as they will be sent; cancelled and paused ones are marked. Times in this machine's zone with their offset (--utc for UTC)."
    )]
    Agenda(agenda::AgendaArgs),
    /// Resolve a schedule's or window's selectors now: each desktop and whether it would get
    /// the message. Sends nothing.
    #[command(
        after_help = "Examples:\n  workspace-notifier audience finance-reminder --config config/example.toml\n  workspace-notifier audience nightly-restart --json\n\nLists desktops with ListDesktops (read-only), also in dry run when credentials are there."
    )]
    Audience(audience::AudienceArgs),
    /// The audit trail: every change (schedules, windows, sends, tokens), who made it, why.
    #[command(after_help = "Examples:
  workspace-notifier audit --since today
  workspace-notifier audit --object patch-night --json

The command line records `unix:USER` (the user sudo was run by, else the login name); the API the token's name. --note on any changing command is recorded with it.")]
    Audit(super::audit::AuditArgs),
    /// API tokens for the console: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(super::tokens::TokenCommand),
}

/// `--desktop` and `--resend-attempts`/`--resend-after`, shared by `schedule add` and
/// `maintenance add`.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// The workspace (a [[workspaces]] name) its messages go to; required when several are
    /// configured.
    #[arg(long)]
    pub workspace: Option<String>,
    /// A desktop id to notify (besides or instead of --pool); repeat for several.
    #[arg(long = "desktop")]
    pub desktops: Vec<String>,
    #[command(flatten)]
    pub selectors: SelectorArgs,
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
            workspace: self.workspace.clone(),
            desktops: self.desktops.clone(),
            resend_attempts: self.resend_attempts,
            resend_after: self.resend_after.clone(),
            selectors: self.selectors.stored(),
        }
    }
}

/// Desktops chosen by what they carry, resolved from Workspace before each send. (Also the
/// selector keys of an API body, under the config file's names.)
#[derive(Debug, Clone, clap::Args, Default, serde::Deserialize)]
#[serde(default)]
pub struct SelectorArgs {
    /// Desktops carrying this tag, KEY=VALUE; repeat: desktops carrying all of them.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Desktops of this enterprise project (its id).
    #[arg(long)]
    pub enterprise_project: Option<String>,
    /// Desktops assigned to this user (exact name); repeat for several.
    #[arg(long = "user")]
    pub users: Vec<String>,
    /// Every desktop of the workspace (stands alone).
    #[arg(long)]
    pub all_desktops: bool,
    /// Who of them gets it: all (default) or connected (only desktops connected when resolved).
    #[arg(long)]
    pub audience: Option<String>,
    /// Refuse to send when more desktops than this match (default [targets] max_audience).
    #[arg(long)]
    pub max_audience: Option<i64>,
}

impl SelectorArgs {
    /// True when any selector or an audience is given.
    pub(crate) fn is_set(&self) -> bool {
        self.stored() != crate::store::StoredSelectors::default()
    }

    /// A `[[schedules]]` entry with these selector keys and nothing else.
    pub(crate) fn raw_schedule(&self) -> crate::config::RawSchedule {
        crate::config::RawSchedule::default()
            .with_selectors(crate::engine::catalog::selector_values(&self.stored()))
    }

    pub(crate) fn stored(&self) -> crate::store::StoredSelectors {
        crate::store::StoredSelectors {
            tags: self.tags.clone(),
            enterprise_project: self.enterprise_project.clone(),
            users: self.users.clone(),
            all_desktops: self.all_desktops.then_some(true),
            audience: self.audience.clone(),
            max_audience: self.max_audience,
        }
    }
}
