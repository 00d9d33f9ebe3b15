//! `audience ID`: resolves a schedule's or window's selectors now and shows each desktop and
//! whether it would get the message, with the counts. Lists from Workspace; sends nothing and
//! records nothing.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{CliError, failure, load_config};
use crate::domain::audience::{Desktop, LeftOut};
use crate::domain::schedule::ScheduleSpec;
use crate::engine::immediate;

#[derive(Debug, clap::Args)]
pub struct AudienceArgs {
    /// The schedule or maintenance window (file or database).
    pub id: String,
    /// Print `{"schedule_id", "workspace", "selector", "matched", "targeted", "max_audience",
    /// "refused", "desktops": [...]}` instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(config_path: &Path, args: AudienceArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    // Before the service's first start there is no database: the file's schedules alone.
    let catalog = match config.daemon.database.missing_file() {
        Some(_) => {
            crate::engine::catalog::load(
                &config.schedules,
                &config.windows,
                &config.task_warnings,
                &config.defaults(),
                None,
            )
            .await?
        }
        None => {
            let store = super::open_existing_store(&config).await?;
            let (catalog, _) = super::load_catalog(&config, &store).await?;
            store.close().await;
            catalog
        }
    };
    let spec: ScheduleSpec = match (
        catalog.windows.iter().find(|w| w.id.as_str() == args.id),
        catalog.schedules.iter().find(|s| s.id.as_str() == args.id),
    ) {
        (Some(window), _) => Arc::new(window.clone())
            .parts()
            .into_iter()
            .next()
            .ok_or_else(|| failure(format!("window {:?} sends no message", args.id)))?,
        (None, Some(spec)) => (**spec).clone(),
        (None, None) => {
            return Err(super::not_found(format!(
                "no schedule or window {:?} (see `status`)",
                args.id
            )));
        }
    };
    if !spec.needs_listing() {
        say!(
            "{} has no selectors: it goes to {} pool(s) and {} desktop(s) by id, nothing to resolve",
            args.id,
            spec.pools.len(),
            spec.desktops.len()
        );
        return Ok(());
    }
    let (_, listed) = immediate::list_audience(&config, &spec).await?;
    let listed = listed.map_err(|why| failure(format!("cannot resolve the audience: {why}")))?;
    let resolution = spec.resolve_audience(listed.iter().flat_map(|l| l.iter()));
    let max = spec.audience.limit(config.targets.max_audience);
    let refused = resolution.matched() > max;
    let rows: Vec<(&Desktop, Option<LeftOut>)> = resolution
        .targeted
        .iter()
        .map(|d| (*d, None))
        .chain(resolution.left_out.iter().map(|(d, why)| (*d, Some(*why))))
        .collect();
    if args.json {
        super::json::print(&json!({
            "schedule_id": spec.record_as.as_str(),
            "workspace": spec.workspace.as_str(),
            "selector": spec.audience.describe(),
            "matched": resolution.matched(),
            "targeted": if refused { 0 } else { resolution.targeted.len() },
            "max_audience": max,
            "refused": refused,
            "desktops": rows.iter().map(|(d, why)| desktop_json(d, *why, refused)).collect::<Vec<Value>>(),
        }));
        return Ok(());
    }
    say!(
        "{} (workspace {}): {}",
        spec.record_as,
        spec.workspace,
        spec.audience.describe()
    );
    say!(
        "{:<38} {:<16} {:<20} {:<38} {:<13} {:<5} GETS IT",
        "DESKTOP",
        "NAME",
        "USERS",
        "POOL",
        "STATUS",
        "MAINT"
    );
    for (d, why) in &rows {
        say!(
            "{:<38} {:<16} {:<20} {:<38} {:<13} {:<5} {}",
            d.desktop_id,
            d.computer_name,
            d.users.join(","),
            d.pool_id.as_deref().unwrap_or("-"),
            d.connect_status,
            if d.in_maintenance_mode { "yes" } else { "no" },
            gets_it(*why, refused)
        );
    }
    say!(
        "{} matched, {} would get it, {} left out; max_audience {max}{}",
        resolution.matched(),
        if refused {
            0
        } else {
            resolution.targeted.len()
        },
        resolution.left_out.len(),
        if refused {
            " exceeded: nothing would be sent"
        } else {
            ""
        }
    );
    Ok(())
}

fn gets_it(why: Option<LeftOut>, refused: bool) -> &'static str {
    match (why, refused) {
        (_, true) => "no (over max_audience)",
        (None, false) => "yes",
        (Some(LeftOut::InPool), false) => "via its pool",
        (Some(LeftOut::NotConnected), false) => "no (not connected)",
    }
}

fn desktop_json(d: &Desktop, why: Option<LeftOut>, refused: bool) -> Value {
    json!({
        "desktop_id": d.desktop_id,
        "computer_name": d.computer_name,
        "users": d.users,
        "pool_id": d.pool_id,
        "connect_status": d.connect_status,
        "in_maintenance_mode": d.in_maintenance_mode,
        "receives": why.is_none() && !refused,
        "left_out": why.map(LeftOut::as_str),
    })
}
