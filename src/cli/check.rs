//! `check`: validate like `nginx -t`, then show each schedule's next fire times in its zone
//! and in UTC.

use chrono::Utc;
use std::collections::HashMap;
use std::path::Path;

use super::{CliError, invalid, load_config};
use crate::config::FieldError;
use crate::domain::schedule::ScheduleSpec;
use crate::store::ScheduleState;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// How many fire times to list per schedule (at most 1000).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub next: u16,
    /// List fire times after this instant (RFC 3339 with offset; default now).
    #[arg(long)]
    pub from: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// With `--json`, a refusal is JSON on stdout too: `{"valid": false, "config", "errors":
/// [{"key", "message"}]}`, and the exit code is still 78.
pub(super) async fn run(config_path: &Path, args: CheckArgs) -> Result<(), CliError> {
    let json = args.json;
    match check(config_path, args).await {
        Err(err) if json && err.exit_code() == super::EXIT_CONFIG => {
            let doc = serde_json::json!({
                "valid": false,
                "config": config_path.display().to_string(),
                "errors": err.as_json_errors(),
            });
            say!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("JSON values serialize")
            );
            Err(CliError::ReportedInvalid)
        }
        other => other,
    }
}

async fn check(config_path: &Path, args: CheckArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    // What `run` would refuse (missing credentials or project id) fails here too, with the
    // same message; nothing is sent. A missing database directory is only a warning: the
    // packaged unit's StateDirectory= creates it at the service's first start.
    crate::engine::wiring::build_routes(&config, &crate::engine::wiring::process_env)?;
    super::tls_of(&config)?;
    let warnings: Vec<String> = crate::engine::wiring::database_directory_problem(&config)
        .map(|problem| {
            format!(
                "daemon.database: {}: {problem}; `run` refuses to start until it exists (under the packaged unit, systemd creates it at the first start)",
                config.daemon.database
            )
        })
        .into_iter()
        .collect();
    for warning in &warnings {
        tell!("warning: {warning}");
    }
    let from = match &args.from {
        Some(raw) => crate::config::instant(raw).map_err(|message| invalid("--from", message))?,
        None => chrono::SubsecRound::trunc_subsecs(Utc::now(), 0),
    };
    let next = usize::from(args.next);
    let (catalog, states) = load_catalog(&config).await?;
    let schedules = &catalog.schedules;
    // Without --from: as the daemon sees them now (after the last occurrence it handled,
    // overdue ones within grace first). With --from: the fire times strictly after it.
    let fires = |spec: &ScheduleSpec| {
        let state = states.get(spec.id.as_str());
        let anchor = state.map_or(from, |s| s.anchor_at);
        let last_due = match args.from {
            Some(_) => Some(from),
            None => state.and_then(|s| s.last_due_at),
        };
        spec.next_fires(last_due, anchor, from, next)
    };
    if args.json {
        let list: Vec<serde_json::Value> = schedules
            .iter()
            .map(|s| super::json::schedule(s, &fires(s), &catalog.pauses))
            .collect();
        let windows: Vec<serde_json::Value> = catalog
            .windows
            .iter()
            .map(|w| super::render::window_json(w, from, next, &states))
            .collect();
        let doc = serde_json::json!({"valid": true, "warnings": warnings, "config": config.path.display().to_string(), "from": crate::store::format_time(from), "schedules": list, "maintenance_windows": windows});
        say!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("JSON values serialize")
        );
        return Ok(());
    }
    say!(
        "{}: configuration is valid ({} schedule{}, {} maintenance window{})",
        config.path.display(),
        schedules.len(),
        if schedules.len() == 1 { "" } else { "s" },
        catalog.windows.len(),
        if catalog.windows.len() == 1 { "" } else { "s" },
    );
    for window in &catalog.windows {
        say!();
        super::render::print_window(window, from, next, &states);
    }
    for spec in schedules {
        say!();
        let state = if spec.enabled { "" } else { " [disabled]" };
        say!(
            "{}{state}: {} in {}, {} pool(s), misfire_grace {}, catch_up {} ({})",
            spec.id,
            spec.describe_trigger(),
            spec.timezone,
            spec.pools.len(),
            humantime::format_duration(spec.misfire_grace),
            spec.catch_up.as_str(),
            catch_up_meaning(spec.catch_up),
        );
        let times = fires(spec);
        if times.is_empty() {
            say!("  no fire time after {}", from.to_rfc3339());
        }
        for t in times {
            say!(
                "  {}  ({})",
                super::times::zoned(t, super::times::Natural::Zone(spec.timezone)).to_rfc3339(),
                crate::store::format_time(t)
            );
        }
    }
    Ok(())
}

/// The file's schedules and windows, plus the database's when the database file exists (it
/// is not created by `check`). A database entry that breaks a rule makes the check fail.
async fn load_catalog(
    config: &crate::config::Config,
) -> Result<
    (
        crate::engine::catalog::Catalog,
        HashMap<String, ScheduleState>,
    ),
    CliError,
> {
    let exists = config.daemon.database.missing_file().is_none();
    let store = match exists {
        true => Some(crate::engine::wiring::open_store(config).await?),
        false => None,
    };
    let catalog = crate::engine::catalog::load(
        &config.schedules,
        &config.windows,
        &config.task_warnings,
        &config.defaults(),
        store.as_ref(),
    )
    .await?;
    let mut states = HashMap::new();
    if let Some(store) = store {
        states = store.schedule_states().await?;
        store.close().await;
    }
    if !catalog.problems.is_empty() {
        let errors = catalog
            .problems
            .iter()
            .map(|message| FieldError {
                key: "database".into(),
                message: message.clone(),
            })
            .collect();
        return Err(CliError::Invalid(errors));
    }
    Ok((catalog, states))
}

/// What a catch-up policy does, in a few words, for `check`.
fn catch_up_meaning(policy: crate::domain::schedule::CatchUpPolicy) -> &'static str {
    use crate::domain::schedule::CatchUpPolicy;
    match policy {
        CatchUpPolicy::Latest => {
            "after downtime the newest occurrence within grace is sent, older ones are recorded missed"
        }
        CatchUpPolicy::All => {
            "after downtime every occurrence within grace is sent, oldest first, at most 100"
        }
        CatchUpPolicy::None => "nothing late is sent",
    }
}
