//! `freeze`: pause every schedule at once (a change freeze), for a while, with a reason;
//! maintenance windows and task warnings keep going unless `--include-windows` (they announce
//! real events). `freeze --end` ends it. Kept in the database like `schedule pause`.

use chrono::{DateTime, Utc};
use std::path::Path;

use super::{CliError, failure, invalid, load_config};
use crate::store::{FREEZE, Pause};

#[derive(Debug, clap::Args)]
pub struct FreezeArgs {
    /// End the freeze.
    #[arg(long, conflicts_with_all = ["until", "note", "include_windows"])]
    pub end: bool,
    /// Thaw by itself then: `+4h`, `tomorrow`, `2026-12-20 08:00`, RFC 3339, ...
    #[arg(long, allow_hyphen_values = true, value_parser = super::when::when_arg)]
    pub until: Option<DateTime<Utc>>,
    /// Why (shown by `status`).
    #[arg(long, allow_hyphen_values = true)]
    pub note: Option<String>,
    /// Stop maintenance windows' and Workspace task warnings too.
    #[arg(long)]
    pub include_windows: bool,
}

pub(super) async fn run(config_path: &Path, args: FreezeArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let now = Utc::now();
    if let Some(until) = args.until.filter(|u| *u <= now) {
        return Err(invalid(
            "--until",
            format!("{} is not in the future", until.to_rfc3339()),
        ));
    }
    let store = crate::engine::wiring::open_store(&config).await?;
    if args.end {
        let ended = store.unpause(FREEZE).await?;
        store.close().await;
        return match ended {
            true => {
                say!("freeze ended; schedules fire again from their next occurrence");
                Ok(())
            }
            false => Err(failure("there is no freeze to end")),
        };
    }
    store
        .pause(&Pause {
            schedule_id: FREEZE.to_owned(),
            until: args.until,
            note: args.note.clone(),
            include_windows: args.include_windows,
            created_at: now,
        })
        .await?;
    store.close().await;
    say!(
        "froze every schedule{} {}{}",
        match args.include_windows {
            true => ", maintenance windows and task warnings",
            false => " (maintenance windows and task warnings keep going)",
        },
        args.until
            .map_or("until `freeze --end`".to_owned(), |u| format!(
                "until {}",
                u.with_timezone(&chrono::Local).to_rfc3339()
            )),
        args.note.map_or(String::new(), |n| format!(": {n}"))
    );
    Ok(())
}
