//! A little over 400 lines: the grammar of every `schedule` subcommand lives here, with
//! add/list/show/remove; pause/resume are `pauses.rs`', export/import `transfer.rs`'.
//! Schedules kept in the database: a running daemon applies each change within 2 seconds (it
//! watches the database), no signal needed.

use chrono::{DateTime, Utc};
use std::path::Path;

use super::{CliError, invalid, load_config, render, validate_flags};
use crate::config::{Config, validate_schedule};
use crate::domain::schedule::{ScheduleSpec, Source};
use crate::engine::catalog;
use crate::engine::wiring;
use crate::store::{HistoryFilter, ScheduleState, Store, StoredSchedule, format_time};

#[derive(Debug, clap::Subcommand)]
pub enum ScheduleCommand {
    /// Add a schedule to the database.
    #[command(
        after_help = "Examples:\n  workspace-notifier schedule add --id friday-logoff --cron '0 0 17 * * Fri' \\\n      --timezone Asia/Shanghai --pool a130ab3a-72bf-4b71-baa9-af4987c8e338 \\\n      --message 'Please log off before the weekend.'\n  workspace-notifier schedule add --id patch-notice --at 2026-12-01T09:00:00+08:00 --pool P --message 'Patching tonight'\n  workspace-notifier schedule add --id vpn-hint --every 4h --pool P1 --pool P2 --message 'Use the VPN'"
    )]
    Add(Box<AddArgs>),
    /// List config-file and database schedules with their state and next fire time.
    #[command(
        after_help = "Examples:\n  workspace-notifier schedule list\n  workspace-notifier schedule list --json"
    )]
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one schedule, its next fire times and its latest deliveries.
    #[command(after_help = "Example:\n  workspace-notifier schedule show friday-logoff")]
    Show {
        /// The schedule's id (see `schedule list`).
        id: String,
        /// SCHEDULE (or WINDOW) with `"recent": [DELIVERY]` instead of words.
        #[arg(long)]
        json: bool,
    },
    /// Stop a schedule, maintenance window or task warning rule from sending (from the file
    /// or the database; it stays listed), until resumed or until --until.
    #[command(
        after_help = "Examples:\n  workspace-notifier schedule pause friday-logoff --note \"change freeze CHG-1234\"\n  workspace-notifier schedule pause patch-night --until \"2026-12-20 08:00\"\n\nThe pause is kept in the database: a running daemon applies it within 2 s, and it survives restarts and reloads; the file stays the definition."
    )]
    Pause {
        /// The schedule's, window's or task warning rule's id (see `schedule list`).
        id: String,
        /// Resume by itself then: `+2h`, `tomorrow`, `2026-12-20 08:00`, RFC 3339, ...
        #[arg(long, allow_hyphen_values = true, value_parser = super::when::when_arg)]
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Let a paused schedule fire again (from its next occurrence; nothing missed is replayed).
    #[command(after_help = "Example:\n  workspace-notifier schedule resume friday-logoff")]
    Resume {
        /// The schedule's id (see `schedule list`).
        id: String,
    },
    /// Write every database schedule and window in the config file's syntax (TOML, or JSON
    /// with the same keys).
    #[command(
        after_help = "Examples:\n  workspace-notifier schedule export > schedules.toml\n  workspace-notifier schedule export --json > schedules.json"
    )]
    Export {
        /// JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
    /// Read schedules and windows written by `export` (or by hand, in the config file's
    /// syntax) into the database: all or nothing, each error naming its entry and key.
    #[command(
        after_help = "Examples:\n  workspace-notifier schedule import schedules.toml\n  workspace-notifier schedule import schedules.json --replace"
    )]
    Import {
        /// The file (TOML, or JSON when it starts with `{`).
        file: std::path::PathBuf,
        /// Replace database entries with the same ids (otherwise such an id refuses the import).
        #[arg(long)]
        replace: bool,
    },
    /// Remove a database schedule; its delivery history stays.
    #[command(after_help = "Example:\n  workspace-notifier schedule remove friday-logoff")]
    Remove {
        /// The schedule's id (see `schedule list`).
        id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Unique id: 1-64 of A-Z a-z 0-9 . _ - (checked like the config file: exit 78 if invalid)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub id: String,
    /// Cron expression, 6 fields with seconds or 5.
    #[arg(long)]
    pub cron: Option<String>,
    /// One-shot time, RFC 3339 with offset.
    #[arg(long)]
    pub at: Option<String>,
    /// Fixed interval, e.g. 4h.
    #[arg(long, allow_hyphen_values = true)]
    pub every: Option<String>,
    /// Anchor of --every (RFC 3339); default: when the daemon first loads it.
    #[arg(long)]
    pub start: Option<String>,
    /// IANA zone (default daemon.timezone).
    #[arg(long)]
    pub timezone: Option<String>,
    /// Desktop pool id; repeat for several pools.
    #[arg(long = "pool")]
    pub pools: Vec<String>,
    /// The text users see.
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "",
        hide_default_value = true
    )]
    pub message: String,
    /// How late a delivery may still go out (default 5m).
    #[arg(long, allow_hyphen_values = true)]
    pub misfire_grace: Option<String>,
    /// What is sent of occurrences that come due late: latest (default), all, none.
    #[arg(long)]
    pub catch_up: Option<String>,
    /// Add it paused.
    #[arg(long)]
    pub paused: bool,
    #[command(flatten)]
    pub targets: super::TargetArgs,
}

pub(super) async fn run(config_path: &Path, command: ScheduleCommand) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    match command {
        ScheduleCommand::Add(args) => add(&config, *args).await,
        ScheduleCommand::List { json } => list(&config, json).await,
        ScheduleCommand::Show { id, json } => show(&config, &id, json).await,
        ScheduleCommand::Pause { id, until } => {
            super::pauses::pause(&config, &id, until, super::audit::note()).await
        }
        ScheduleCommand::Resume { id } => super::pauses::resume(&config, &id).await,
        ScheduleCommand::Remove { id } => remove(&config, &id).await,
        ScheduleCommand::Export { json } => super::transfer::export(&config, json).await,
        ScheduleCommand::Import { file, replace } => {
            super::transfer::import(&config, &file, replace).await
        }
    }
}

async fn open(config: &Config) -> Result<Store, CliError> {
    wiring::open_store(config)
        .await
        .map_err(|e| CliError::Failed(e.into()))
}

async fn add(config: &Config, args: AddArgs) -> Result<(), CliError> {
    let stored = StoredSchedule {
        id: args.id,
        cron: args.cron,
        at: args.at,
        every: args.every,
        start: args.start,
        timezone: args.timezone,
        pools: args.pools,
        message: args.message,
        misfire_grace: args.misfire_grace,
        paused: args.paused,
        catch_up: args.catch_up,
        extra: args.targets.stored(),
    };
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    let spec = apply_add(config, &by, &stored).await?;
    let next = next_fire(&spec, None, Utc::now());
    say!(
        "added schedule {}: {}; next fire {}",
        spec.id,
        spec.describe_trigger(),
        show_time(next, &spec)
    );
    Ok(())
}

/// A schedule stored in the database, validated as a config file's entry would be and
/// recorded in the audit trail as `by`'s (the command line's and the API's). Errors name the
/// command line's flags (`--cron`); the API says them as the config file's keys.
pub(crate) async fn apply_add(
    config: &Config,
    by: &super::audit::Actor,
    stored: &StoredSchedule,
) -> Result<ScheduleSpec, CliError> {
    let raw = catalog::raw_of(stored);
    let spec = validate_flags(|key, errors| {
        validate_schedule(&raw, key, &config.defaults(), Source::Database, errors)
    })?;
    super::refuse_past("--at", &spec.trigger, "the schedule would never fire")?;
    if config.declares(&spec.id) {
        return Err(invalid(
            "--id",
            format!(
                "{:?} is already used by a schedule in the config file {}",
                stored.id,
                config.path.display()
            ),
        ));
    }
    let store = open(config).await?;
    let inserted = store.insert_schedule(stored, Utc::now()).await;
    store.close().await;
    if !inserted? {
        return Err(invalid(
            "--id",
            format!(
                "a database schedule {:?} already exists (remove it first)",
                stored.id
            ),
        ));
    }
    super::audit::record_as(
        config,
        by,
        "schedule.add",
        spec.id.as_str(),
        format!("{}; {}", spec.describe_trigger(), spec.audience.describe()),
    )
    .await?;
    Ok(spec)
}

async fn remove(config: &Config, id: &str) -> Result<(), CliError> {
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    apply_remove(config, &by, id).await?;
    say!("removed schedule {id}; its delivery history is kept (`history --schedule {id}`)");
    Ok(())
}

/// Removes a database schedule (its history stays), recorded as `by`'s: the command line's
/// and the API's.
pub(crate) async fn apply_remove(
    config: &Config,
    by: &super::audit::Actor,
    id: &str,
) -> Result<(), CliError> {
    refuse_file_schedule(config, id)?;
    let store = open(config).await?;
    let parsed = crate::domain::ScheduleId::parse(id)
        .map_err(|e| invalid("id", format!("{e}, got {id:?}")))?;
    store.forget_states(&[parsed]).await?;
    if !store.delete_schedule(id).await? {
        return Err(super::not_found(format!(
            "no database schedule {id:?} (see `schedule list`)"
        )));
    }
    store.close().await;
    super::audit::record_as(config, by, "schedule.remove", id, "removed").await
}

fn refuse_file_schedule(config: &Config, id: &str) -> Result<(), CliError> {
    if config.schedules.iter().any(|s| s.id.as_str() == id) {
        return Err(invalid(
            "id",
            format!(
                "schedule {id:?} is defined in the config file {}; edit the file and reload the daemon (systemctl reload workspace-notifier)",
                config.path.display()
            ),
        ));
    }
    Ok(())
}

/// The next fire time as the daemon sees it (none while paused or disabled).
fn next_fire(
    spec: &ScheduleSpec,
    state: Option<&ScheduleState>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    next_fires(spec, state, now, 1).first().copied()
}

fn next_fires(
    spec: &ScheduleSpec,
    state: Option<&ScheduleState>,
    now: DateTime<Utc>,
    n: usize,
) -> Vec<DateTime<Utc>> {
    if !spec.enabled {
        return Vec::new();
    }
    let anchor = state.map_or(now, |s| s.anchor_at);
    spec.next_fires(state.and_then(|s| s.last_due_at), anchor, now, n)
}

fn show_time(t: Option<DateTime<Utc>>, spec: &ScheduleSpec) -> String {
    match t {
        Some(t) => format!(
            "{} ({})",
            super::times::zoned(t, super::times::Natural::Zone(spec.timezone)).to_rfc3339(),
            format_time(t)
        ),
        None => "none".to_owned(),
    }
}

use super::json::state_name;

async fn list(config: &Config, json: bool) -> Result<(), CliError> {
    let store = super::open_existing_store(config).await?;
    let (catalog, states) = super::load_catalog(config, &store).await?;
    let specs = &catalog.schedules;
    let now = Utc::now();
    if json {
        let mut rows: Vec<serde_json::Value> = specs
            .iter()
            .map(|s| {
                super::json::schedule(
                    s,
                    &next_fires(s, states.get(s.id.as_str()), now, 1),
                    &catalog.pauses,
                )
            })
            .collect();
        rows.extend(
            catalog
                .windows
                .iter()
                .map(|w| render::window_json(w, now, 2, &states)),
        );
        say!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("JSON values serialize")
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = specs
        .iter()
        .map(|s| {
            let next = next_fire(s, states.get(s.id.as_str()), now)
                .map(|t| super::times::shown(t, super::times::Natural::Zone(s.timezone)))
                .unwrap_or_else(|| "-".into());
            let selector = s.audience.describe();
            let mut targets: Vec<&str> = s.pools.iter().map(|p| p.as_str()).collect();
            targets.extend(s.desktops.iter().map(|d| d.as_str()));
            targets.extend(Some(selector.as_str()).filter(|t| !t.is_empty()));
            vec![
                s.id.to_string(),
                s.source.as_str().to_owned(),
                state_name(s, &catalog.pauses).to_owned(),
                next,
                s.describe_trigger(),
                targets.join(","),
            ]
        })
        .collect();
    // Columns as wide as their widest cell; the target list (as long as it is) comes last.
    render::print_columns(
        &["ID", "SOURCE", "STATE", "NEXT", "TRIGGER", "TARGETS"],
        &rows,
    );
    for window in &catalog.windows {
        say!();
        render::print_window(window, now, 2, &states);
    }
    Ok(())
}

async fn show(config: &Config, id: &str, json: bool) -> Result<(), CliError> {
    let store = super::open_existing_store(config).await?;
    let (catalog, states) = super::load_catalog(config, &store).await?;
    let specs = &catalog.schedules;
    let recent = |store: Store| async move {
        let filter = HistoryFilter {
            schedule_id: Some(id.to_owned()),
            status: None,
            limit: 5,
            ..HistoryFilter::default()
        };
        let rows = store.history(&filter).await;
        store.close().await;
        rows
    };
    let window = catalog.windows.iter().find(|w| w.id.as_str() == id);
    let spec = specs.iter().find(|s| s.id.as_str() == id);
    if json {
        let mut doc = match (window, spec) {
            (Some(window), _) => render::window_json(window, Utc::now(), 3, &states),
            (None, Some(spec)) => super::json::schedule(
                spec,
                &next_fires(spec, states.get(id), Utc::now(), 5),
                &catalog.pauses,
            ),
            (None, None) => {
                return Err(super::not_found(format!(
                    "no schedule {id:?} (see `schedule list`)"
                )));
            }
        };
        doc["recent"] = recent(store)
            .await?
            .iter()
            .map(super::json::delivery)
            .collect();
        super::json::print(&doc);
        return Ok(());
    }
    if let Some(window) = window {
        render::print_window(window, Utc::now(), 3, &states);
        return Ok(());
    }
    let Some(spec) = spec else {
        return Err(super::not_found(format!(
            "no schedule {id:?} (see `schedule list`)"
        )));
    };
    say!("id:            {}", spec.id);
    say!("source:        {}", spec.source.as_str());
    say!("state:         {}", state_name(spec, &catalog.pauses));
    for pause in catalog
        .pauses
        .iter()
        .filter(|p| p.schedule_id == id || p.schedule_id == crate::store::FREEZE)
    {
        say!("paused:        {}", super::pauses::describe(pause));
    }
    say!("trigger:       {}", spec.describe_trigger());
    say!("timezone:      {}", spec.timezone);
    say!(
        "misfire_grace: {}, catch_up: {}",
        humantime::format_duration(spec.misfire_grace),
        spec.catch_up.as_str()
    );
    say!(
        "pools:         {}",
        spec.pools
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if spec.needs_listing() {
        say!(
            "audience:      {} (max_audience {}; see `audience {id}`)",
            spec.audience.describe(),
            spec.audience
                .max_audience
                .map_or_else(|| "from [targets]".to_owned(), |m| m.to_string())
        );
    }
    say!("message:       {}", spec.message());
    say!("next fires:");
    for at in next_fires(spec, states.get(id), Utc::now(), 5) {
        say!("  {}", show_time(Some(at), spec));
    }
    let filter = HistoryFilter {
        schedule_id: Some(id.to_owned()),
        status: None,
        limit: 5,
        ..HistoryFilter::default()
    };
    let recent = store.history(&filter).await?;
    say!("latest deliveries:");
    for r in recent {
        say!(
            "  {} {} {} attempts={} job_id={}",
            r.due_at,
            r.pool_id,
            r.status,
            r.attempts,
            r.job_id.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
