//! `maintenance add/list/cancel`: countdown announcements for maintenance windows.

use chrono::Utc;
use std::path::Path;

use super::render::{print_window, window_json};
use super::send::describe_failure;
use super::{CliError, failure, invalid, load_config, validate_flags};
use crate::config::{Config, validate_window};
use crate::domain::Target;
use crate::domain::maintenance::WindowSpec;
use crate::domain::schedule::Source;
use crate::engine::catalog;
use crate::engine::delivery::Outcome;
use crate::engine::immediate::{self, Delivered};
use crate::engine::wiring;
use crate::store::StoredWindow;

#[derive(Debug, clap::Subcommand)]
pub enum MaintenanceCommand {
    /// Add a maintenance window to the database.
    #[command(
        after_help = "Examples:\n  workspace-notifier maintenance add --id patch-night --start 2026-12-05T22:00:00+08:00 \\\n      --duration 90m --notify-before 1h --notify-before 15m --notify-before 5m \\\n      --pool a130ab3a-72bf-4b71-baa9-af4987c8e338 \\\n      --message 'Desktops restart at {start} ({time_left} left). Save your work.' \\\n      --end-message 'Maintenance finished at {end}; you can log in again.'\n  workspace-notifier maintenance add --id weekly --cron '0 0 22 * * Sat' --timezone Asia/Shanghai \\\n      --duration 2h --notify-before 30m --pool P --message 'Maintenance at {start}, {minutes_left} min left'"
    )]
    Add(Box<AddArgs>),
    /// List windows (file and database) with their upcoming messages, rendered.
    #[command(
        after_help = "Examples:\n  workspace-notifier maintenance list\n  workspace-notifier maintenance list --json"
    )]
    List {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a window's next occurrence (or all with --all); optionally notify its pools now.
    #[command(
        after_help = "Examples:\n  workspace-notifier maintenance cancel patch-night --notice \"Tonight's maintenance is cancelled.\"\n  workspace-notifier maintenance cancel weekly --all"
    )]
    Cancel(CancelArgs),
    /// One window: its settings, upcoming messages (rendered) and cancellations.
    #[command(
        after_help = "Examples:\n  workspace-notifier maintenance show patch-night\n  workspace-notifier maintenance show patch-night --json"
    )]
    Show {
        /// The window's id (see `maintenance list`).
        id: String,
        /// WINDOW (see docs/json.md) instead of words.
        #[arg(long)]
        json: bool,
    },
    /// Move the next occurrence later (--to T or --by D); its warnings are planned again and
    /// --notice tells users the new time now.
    #[command(
        after_help = "Examples:\n  workspace-notifier maintenance postpone patch-night --by 1h \\\n      --notice 'Maintenance moved: desktops restart at {start} on {date}.'\n  workspace-notifier maintenance postpone weekly --to '2026-12-05 23:30'"
    )]
    Postpone(super::maintenance_verbs::PostponeArgs),
    /// Undo `maintenance cancel`: occurrences still ahead go out again (warnings already
    /// closed as cancelled stay so).
    #[command(after_help = "Example:\n  workspace-notifier maintenance uncancel patch-night")]
    Uncancel {
        /// The window's id.
        id: String,
    },
    /// Remove a database window; its history stays. A window from the file: edit the file.
    #[command(after_help = "Example:\n  workspace-notifier maintenance remove patch-night")]
    Remove {
        /// The window's id.
        id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Unique id, shared with schedules (checked like the config file: exit 78 if invalid).
    #[arg(long, default_value = "", hide_default_value = true)]
    pub id: String,
    /// One-off window start, RFC 3339 with offset.
    #[arg(long)]
    pub start: Option<String>,
    /// Recurring window starts (cron, 6 or 5 fields).
    #[arg(long)]
    pub cron: Option<String>,
    /// How long the window lasts, e.g. 90m.
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "",
        hide_default_value = true
    )]
    pub duration: String,
    /// A warning this long before the start; repeat for several.
    #[arg(long = "notify-before", allow_hyphen_values = true)]
    pub notify_before: Vec<String>,
    /// Desktop pool id; repeat for several pools.
    #[arg(long = "pool")]
    pub pools: Vec<String>,
    /// Warning template: {start} {end} {date} {time_left} {minutes_left} {duration} {window}.
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "",
        hide_default_value = true
    )]
    pub message: String,
    /// IANA zone of {start}, {end}, {date} and of --cron (default: the offset --start is
    /// written with, else daemon.timezone).
    #[arg(long)]
    pub timezone: Option<String>,
    /// Sent when the window starts.
    #[arg(long, allow_hyphen_values = true)]
    pub start_message: Option<String>,
    /// Sent when the window ends.
    #[arg(long, allow_hyphen_values = true)]
    pub end_message: Option<String>,
    /// How late a warning may still go out, never past the next one (default 5m).
    #[arg(long, allow_hyphen_values = true)]
    pub misfire_grace: Option<String>,
    /// Put the window's desktops into Workspace's maintenance mode from its start to its end
    /// (only those not in it already are switched, and only those are switched back).
    #[arg(long)]
    pub maintenance_mode: bool,
    #[command(flatten)]
    pub targets: super::TargetArgs,
}

#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The window's id (see `maintenance list`).
    pub id: String,
    /// Sent at once to the window's pools.
    #[arg(long, allow_hyphen_values = true)]
    pub notice: Option<String>,
    /// Cancel every occurrence of a recurring window, not just the next.
    #[arg(long)]
    pub all: bool,
    /// Print `{"id", "occurrence_start", "closed", "notices": [DELIVERY]}` instead of words.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(config_path: &Path, command: MaintenanceCommand) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    match command {
        MaintenanceCommand::Add(args) => add(&config, *args).await,
        MaintenanceCommand::List { json } => list(&config, json).await,
        MaintenanceCommand::Cancel(args) => cancel(&config, args).await,
        MaintenanceCommand::Show { id, json } => {
            super::maintenance_verbs::show(&config, &id, json).await
        }
        MaintenanceCommand::Postpone(args) => {
            super::maintenance_verbs::postpone(&config, args).await
        }
        MaintenanceCommand::Uncancel { id } => {
            super::maintenance_verbs::uncancel(&config, &id).await
        }
        MaintenanceCommand::Remove { id } => super::maintenance_verbs::remove(&config, &id).await,
    }
}

async fn add(config: &Config, args: AddArgs) -> Result<(), CliError> {
    let stored = StoredWindow {
        id: args.id,
        start: args.start,
        cron: args.cron,
        duration: args.duration,
        notify_before: args.notify_before,
        timezone: args.timezone,
        pools: args.pools,
        message: args.message,
        start_message: args.start_message,
        end_message: args.end_message,
        misfire_grace: args.misfire_grace,
        maintenance_mode: args.maintenance_mode,
        extra: args.targets.stored(),
    };
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    let window = apply_add(config, &by, &stored).await?;
    say!("added maintenance window {}", window.id);
    print_window(&window, Utc::now(), 1, &Default::default());
    Ok(())
}

/// A window stored in the database, validated as a config file's entry would be and
/// recorded in the audit trail as `by`'s (the command line's and the API's). Errors name the
/// command line's flags (`--cron`); the API says them as the config file's keys.
pub(crate) async fn apply_add(
    config: &Config,
    by: &super::audit::Actor,
    stored: &StoredWindow,
) -> Result<WindowSpec, CliError> {
    let raw = catalog::raw_window_of(stored);
    let window = validate_flags(|key, errors| {
        validate_window(&raw, key, &config.defaults(), Source::Database, errors)
    })?;
    super::refuse_past("--start", &window.starts, "the window would send nothing")?;
    if config.declares(&window.id) {
        return Err(invalid(
            "--id",
            format!(
                "{:?} is already used in the config file {}",
                stored.id,
                config.path.display()
            ),
        ));
    }
    let store = wiring::open_store(config).await?;
    let inserted = store.insert_window(stored, Utc::now()).await;
    store.close().await;
    if !inserted? {
        return Err(invalid(
            "--id",
            format!(
                "{:?} is already used by a database schedule or window",
                stored.id
            ),
        ));
    }
    super::audit::record_as(
        config,
        by,
        "window.add",
        window.id.as_str(),
        window.starts_description(),
    )
    .await?;
    Ok(window)
}

async fn list(config: &Config, json: bool) -> Result<(), CliError> {
    let store = super::open_existing_store(config).await?;
    let (catalog, states) = super::load_catalog(config, &store).await?;
    let now = Utc::now();
    if json {
        let rows: Vec<serde_json::Value> = catalog
            .windows
            .iter()
            .map(|w| window_json(w, now, 2, &states))
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("JSON values serialize")
        );
        return Ok(());
    }
    if catalog.windows.is_empty() {
        say!("no maintenance windows");
    }
    for (i, window) in catalog.windows.iter().enumerate() {
        if i > 0 {
            say!();
        }
        print_window(window, now, 2, &states);
    }
    let polls = store.task_polls().await?;
    super::task_runs::print(&catalog, &polls, now, config.task_warnings.len());
    Ok(())
}

async fn cancel(config: &Config, args: CancelArgs) -> Result<(), CliError> {
    if args.json {
        super::term::json_only();
    }
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    let done = apply_cancel(config, &by, &args.id, args.notice.as_deref(), args.all).await?;
    match done.occurrence {
        Some(start) => say!(
            "cancelled window {} starting {} ({} claimed warning(s) closed)",
            args.id,
            start.with_timezone(&done.timezone).to_rfc3339(),
            done.closed
        ),
        None => say!(
            "cancelled every occurrence of window {} ({} claimed warning(s) closed)",
            args.id,
            done.closed
        ),
    }
    if let Some(switched) = &done.switched {
        let desktops: usize = switched.iter().map(|d| d.target.desktop_ids().len()).sum();
        let failed = switched
            .iter()
            .filter(|d| matches!(d.outcome, Outcome::Failed { .. }))
            .count();
        say!(
            "maintenance mode switched off for {desktops} desktop(s) in {} request(s){}",
            switched.len(),
            match failed {
                0 => String::new(),
                n => format!(" ({n} failed: see `history --schedule {}`)", args.id),
            }
        );
    }
    let ids: Vec<i64> = done.notices.iter().map(|d| d.id).collect();
    let result = print_notices(done.notices);
    if args.json {
        super::json::print(&serde_json::json!({
            "id": args.id,
            "occurrence_start": done.occurrence.map(crate::store::format_time),
            "closed": done.closed,
            "notices": super::json::deliveries(config, &ids).await?,
        }));
    }
    result
}

/// What a cancel did.
pub(crate) struct Cancelled {
    /// The occurrence cancelled (None: every occurrence).
    pub occurrence: Option<chrono::DateTime<Utc>>,
    pub timezone: chrono_tz::Tz,
    /// Claimed warnings closed.
    pub closed: u64,
    /// The maintenance-mode switch-offs made at once (a running window's).
    pub switched: Option<Vec<Delivered>>,
    /// The notices sent.
    pub notices: Vec<Delivered>,
}

/// The cancel itself, recorded in the audit trail as `by`'s (the command line's and the
/// console's): the next occurrence not yet started (a running maintenance-mode one first), or
/// every occurrence with `all`; then the switch-off and the notice.
pub(crate) async fn apply_cancel(
    config: &Config,
    by: &super::audit::Actor,
    id: &str,
    notice: Option<&str>,
    all: bool,
) -> Result<Cancelled, CliError> {
    if let Some(text) = notice.filter(|t| t.trim().is_empty()) {
        return Err(invalid("--notice", format!("{text:?} is empty")));
    }
    let store = wiring::open_store(config).await?;
    let (catalog, _) = super::load_catalog(config, &store).await?;
    let Some(window) = catalog.windows.iter().find(|w| w.id.as_str() == id) else {
        store.close().await;
        return Err(super::not_found(format!(
            "no maintenance window {id:?} (see `maintenance list`)"
        )));
    };
    let now = Utc::now();
    // A window under way that switched maintenance mode: the running occurrence is the one
    // cancelled (its desktops come out of maintenance mode at once).
    let running = match window.maintenance_mode {
        true => window
            .running_start(now)
            .filter(|start| !window.is_cancelled(*start)),
        false => None,
    };
    let (occurrence, range) = if all {
        (None, None)
    } else if let Some(start) = running {
        let end = start + chrono::TimeDelta::from_std(window.duration).unwrap_or_default();
        (Some(start), Some((start, end)))
    } else {
        let Some(next) = window.next_to_cancel(now) else {
            store.close().await;
            return Err(failure(format!(
                "window {id:?} has no occurrence left to cancel"
            )));
        };
        (Some(next.start), Some((next.first_due, next.last_due)))
    };
    let closed = store
        .cancel_window(id, occurrence, range, notice, now)
        .await?;
    store.close().await;
    let what = match occurrence {
        Some(start) => format!("occurrence {}", crate::store::format_time(start)),
        None => "every occurrence".to_owned(),
    };
    let with = match notice {
        Some(_) => ", with a notice",
        None => "",
    };
    super::audit::record_as(config, by, "window.cancel", id, format!("{what}{with}")).await?;
    let switched = match window.maintenance_mode && (running.is_some() || all) {
        true => Some(immediate::switch_off_now(config, window).await?),
        false => None,
    };
    let notices = match notice {
        Some(text) => notice_deliveries(config, window, text).await?,
        None => Vec::new(),
    };
    Ok(Cancelled {
        occurrence,
        timezone: window.timezone,
        closed,
        switched,
        notices,
    })
}

/// A notice to the window's pools and desktops, sent now.
pub(super) async fn notice_deliveries(
    config: &Config,
    window: &WindowSpec,
    text: &str,
) -> Result<Vec<Delivered>, CliError> {
    let mut targets: Vec<Target> = window.pools.iter().cloned().map(Target::Pool).collect();
    targets.extend(Target::desktop_batches(
        "desktops:",
        &window.desktops,
        config.jobs.desktop_batch,
    ));
    Ok(immediate::deliver_now(
        config,
        (window.id.clone(), window.workspace.clone()),
        &targets,
        immediate::Outgoing {
            text: text.to_owned(),
            ..Default::default()
        },
    )
    .await?)
}

/// Each notice's outcome on the terminal; an error when one failed.
pub(super) fn print_notices(done: Vec<Delivered>) -> Result<(), CliError> {
    let mut failed = 0;
    for Delivered {
        target,
        outcome,
        row,
        ..
    } in done
    {
        match outcome {
            Outcome::Sent { job_id } => say!(
                "notice sent to {target}: job_id {}",
                job_id.as_deref().unwrap_or("-")
            ),
            Outcome::DryRun => say!("notice recorded for {target} (dry run)"),
            Outcome::Failed { reason } => {
                failed += 1;
                tell!(
                    "error: notice to {target} failed: {}",
                    describe_failure(row.as_ref(), &reason)
                );
            }
            other => tell!("notice to {target}: {other:?}"),
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(CliError::Reported(format!("{n} notice(s) failed"))),
    }
}
