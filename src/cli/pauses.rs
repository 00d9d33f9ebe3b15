//! Pauses, kept in the database (the file stays the definition): `schedule pause/resume` for
//! any schedule, window or task warning rule, and `freeze`, every schedule at once (a change
//! freeze), for a while, with a reason; maintenance windows and task warnings keep going
//! unless `--include-windows` (they announce real events). `freeze --end` ends it.

use chrono::{DateTime, Utc};
use std::path::Path;

use super::{CliError, failure, invalid, load_config};
use crate::config::Config;
use crate::store::{FREEZE, Pause};

#[derive(Debug, clap::Args)]
pub struct FreezeArgs {
    /// End the freeze.
    #[arg(long, conflicts_with_all = ["until", "include_windows"])]
    pub end: bool,
    /// Thaw by itself then: `+4h`, `tomorrow`, `2026-12-20 08:00`, RFC 3339, ...
    #[arg(long, allow_hyphen_values = true, value_parser = super::when::when_arg)]
    pub until: Option<DateTime<Utc>>,
    /// Stop maintenance windows' and Workspace task warnings too.
    #[arg(long)]
    pub include_windows: bool,
}

pub(super) async fn run(config_path: &Path, args: FreezeArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    if args.end {
        apply_thaw(&config, &by).await?;
        say!("freeze ended; schedules fire again from their next occurrence");
        return Ok(());
    }
    apply_freeze(&config, &by, args.until, args.include_windows).await?;
    say!(
        "froze every schedule{} {}{}",
        match args.include_windows {
            true => ", maintenance windows and task warnings",
            false => " (maintenance windows and task warnings keep going)",
        },
        args.until
            .map_or("until `freeze --end`".to_owned(), |u| format!(
                "until {}",
                super::times::zoned(u, super::times::Natural::Machine).to_rfc3339()
            )),
        by.note.map_or(String::new(), |n| format!(": {n}"))
    );
    Ok(())
}

/// A freeze of every schedule (windows and task warnings too with `include_windows`), until
/// `until` or its end, recorded in the audit trail as `by`'s (the command line's and the API's).
pub(crate) async fn apply_freeze(
    config: &Config,
    by: &super::audit::Actor,
    until: Option<DateTime<Utc>>,
    include_windows: bool,
) -> Result<(), CliError> {
    let now = Utc::now();
    if let Some(until) = until.filter(|u| *u <= now) {
        return Err(invalid(
            "--until",
            format!("{} is not in the future", until.to_rfc3339()),
        ));
    }
    let store = crate::engine::wiring::open_store(config).await?;
    store
        .pause(&Pause {
            schedule_id: FREEZE.to_owned(),
            until,
            note: by.note.clone(),
            include_windows,
            created_at: now,
            actor: Some(by.name.clone()),
        })
        .await?;
    store.close().await;
    let until_text = until.map_or("until `freeze --end`".to_owned(), |u| {
        format!("until {}", crate::store::format_time(u))
    });
    let windows = match include_windows {
        true => ", windows and task warnings too",
        false => "",
    };
    let summary = format!("every schedule {until_text}{windows}");
    super::audit::record_as(config, by, "freeze", FREEZE, summary).await
}

/// Ends the freeze, recorded in the audit trail as `by`'s.
pub(crate) async fn apply_thaw(config: &Config, by: &super::audit::Actor) -> Result<(), CliError> {
    let store = crate::engine::wiring::open_store(config).await?;
    let ended = store.unpause(FREEZE).await?;
    store.close().await;
    match ended {
        true => super::audit::record_as(config, by, "freeze.end", FREEZE, "freeze ended").await,
        false => Err(failure("there is no freeze to end")),
    }
}

/// `schedule pause`: any schedule, window or task warning rule the service runs.
pub(super) async fn pause(
    config: &Config,
    id: &str,
    until: Option<chrono::DateTime<Utc>>,
    note: Option<String>,
) -> Result<(), CliError> {
    if let Some(until) = until.filter(|u| *u <= Utc::now()) {
        return Err(invalid(
            "--until",
            format!("{} is not in the future", until.to_rfc3339()),
        ));
    }
    let by = super::audit::Actor {
        name: super::actor(),
        note: note.clone(),
    };
    apply_pause(config, &by, id, until).await?;
    say!(
        "paused {id}{}{}",
        until.map_or(" until resumed".to_owned(), |u| format!(
            " until {}",
            super::times::zoned(u, super::times::Natural::Machine).to_rfc3339()
        )),
        note.map_or(String::new(), |n| format!(": {n}"))
    );
    Ok(())
}

/// The pause itself, recorded in the audit trail as `by`'s: the command line's and the API's.
pub(crate) async fn apply_pause(
    config: &Config,
    by: &super::audit::Actor,
    id: &str,
    until: Option<chrono::DateTime<Utc>>,
) -> Result<(), CliError> {
    let now = Utc::now();
    if let Some(until) = until.filter(|u| *u <= now) {
        return Err(invalid(
            "until",
            format!("{} is not in the future", until.to_rfc3339()),
        ));
    }
    let store = crate::engine::wiring::open_store(config).await?;
    let (catalog, _) = super::load_catalog(config, &store).await?;
    let known = catalog.schedules.iter().any(|s| s.id.as_str() == id)
        || catalog.windows.iter().any(|w| w.id.as_str() == id)
        || config.task_warnings.iter().any(|r| r.id.as_str() == id);
    if !known {
        store.close().await;
        return Err(super::not_found(format!(
            "no schedule, window or task warning rule {id:?} (see `schedule list`)"
        )));
    }
    store
        .pause(&crate::store::Pause {
            schedule_id: id.to_owned(),
            until,
            note: by.note.clone(),
            include_windows: false,
            created_at: now,
            actor: Some(by.name.clone()),
        })
        .await?;
    store.close().await;
    let until_text = until.map_or("until resumed".to_owned(), |u| {
        format!("until {}", crate::store::format_time(u))
    });
    super::audit::record_as(config, by, "schedule.pause", id, until_text).await
}

/// `schedule resume`: ends a pause, and a database schedule's `--paused`.
pub(super) async fn resume(config: &Config, id: &str) -> Result<(), CliError> {
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    apply_resume(config, &by, id).await?;
    say!("resumed {id}");
    Ok(())
}

/// The resume itself (the command line's and the API's).
pub(crate) async fn apply_resume(
    config: &Config,
    by: &super::audit::Actor,
    id: &str,
) -> Result<(), CliError> {
    let store = crate::engine::wiring::open_store(config).await?;
    let unpaused = store.unpause(id).await?;
    let stored = store.set_schedule_paused(id, false, Utc::now()).await?;
    store.close().await;
    if !unpaused && !stored {
        return Err(failure(format!("{id:?} is not paused (see `status`)")));
    }
    super::audit::record_as(config, by, "schedule.resume", id, "resumed").await
}

/// "until 2026-12-20 08:00:00 +08:00: CHG-1234 (since …)" or "until resumed".
pub(super) fn describe(p: &crate::store::Pause) -> String {
    let natural = super::times::Natural::Machine;
    let until = p.until.map_or("until resumed".to_owned(), |u| {
        format!("until {}", super::times::shown(u, natural))
    });
    let why = p
        .note
        .as_deref()
        .map_or(String::new(), |n| format!(": {n}"));
    format!(
        "{until}{why} (since {}{})",
        super::times::shown(p.created_at, natural),
        p.actor
            .as_deref()
            .map_or(String::new(), |a| format!(", by {a}"))
    )
}
