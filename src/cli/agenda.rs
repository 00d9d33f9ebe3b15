//! `agenda`: every message that will go out between two times (default: the next 24 hours),
//! in time order: schedule occurrences, window warnings, start and end messages, warnings of
//! Workspace's own tasks, each with its rendered text and target, cancelled and paused ones
//! marked. It walks the same schedule set the daemon runs (the catalog, window parts
//! included) with the same trigger arithmetic and rendering, from the database's progress.

use chrono::{DateTime, TimeDelta, Utc};
use std::path::Path;

use super::times::{Natural, shown};
use super::{CliError, load_catalog, load_config};
use crate::domain::schedule::ScheduleSpec;

/// The most items one agenda lists (a per-second schedule over a day is 86,400).
const MAX_ITEMS: usize = 10_000;

#[derive(Debug, clap::Args)]
pub struct AgendaArgs {
    /// From then (default: now): `today`, `HH:MM`, `-2h`, `2026-12-01`, RFC 3339, ...
    #[arg(long, allow_hyphen_values = true, value_parser = super::when::when_arg)]
    pub since: Option<DateTime<Utc>>,
    /// Until then (default: 24 hours after --since): `+8h`, `tomorrow`, `23:00`, ...
    #[arg(long, allow_hyphen_values = true, value_parser = super::when::when_arg)]
    pub until: Option<DateTime<Utc>>,
    /// Only the schedules and windows of this workspace.
    #[arg(long)]
    pub workspace: Option<String>,
    /// One JSON array (AGENDA_ITEM) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One message of the agenda.
pub(crate) struct Item<'a> {
    pub due: DateTime<Utc>,
    spec: &'a ScheduleSpec,
    text: String,
    state: &'static str,
}

pub(super) async fn run(config_path: &Path, args: AgendaArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let since = args.since.unwrap_or_else(Utc::now);
    let until = args.until.unwrap_or(since + TimeDelta::hours(24));
    if until <= since {
        return Err(super::invalid(
            "--until",
            format!(
                "{} is not after --since {}",
                until.to_rfc3339(),
                since.to_rfc3339()
            ),
        ));
    }
    let store = super::open_existing_store(&config).await?;
    let (catalog, states) = load_catalog(&config, &store).await?;
    store.close().await;
    let specs = catalog.specs();
    let window = (since, until, args.workspace.as_deref());
    let (items, cut) = collect(&specs, &states, window, config.retry.max_elapsed);
    if args.json {
        print_json(&items);
    } else {
        print_table(&items);
        say!(
            "\n{} message(s) from {} to {}{}",
            items.len(),
            shown(since, Natural::Machine),
            shown(until, Natural::Machine),
            match cut {
                true => format!("; cut at {MAX_ITEMS}: narrow --since/--until"),
                false => String::new(),
            }
        );
    }
    if cut {
        tell!("warning: the agenda was cut at {MAX_ITEMS} messages; narrow --since/--until");
    }
    Ok(())
}

/// The messages due in `[since, until)` of the schedules `specs` (of `workspace` only, with
/// one), in time order, at most [`MAX_ITEMS`]; true when cut there.
pub(crate) fn collect<'a>(
    specs: &'a [crate::domain::schedule::SharedSpec],
    states: &std::collections::HashMap<String, crate::store::ScheduleState>,
    (since, until, workspace): (DateTime<Utc>, DateTime<Utc>, Option<&str>),
    max_elapsed: std::time::Duration,
) -> (Vec<Item<'a>>, bool) {
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut cut = false;
    for spec in specs
        .iter()
        .filter(|s| workspace.is_none_or(|w| s.workspace.as_str() == w))
    {
        let state = states.get(spec.id.as_str());
        let anchor = state.map_or(since, |s| s.anchor_at);
        let from = since - TimeDelta::milliseconds(1);
        let mut next = spec.trigger.next_after(spec.timezone, from, anchor);
        while let Some(due) = next.filter(|t| *t < until) {
            if items.len() >= MAX_ITEMS {
                cut = true;
                break;
            }
            let state = if spec.content.is_cancelled(due) {
                "cancelled"
            } else if spec.content.skipped(due, anchor).is_some() {
                "skipped"
            } else if !spec.enabled {
                "paused"
            } else {
                "planned"
            };
            let (text, _) = spec.content.occurrence(due, max_elapsed);
            items.push(Item {
                due,
                spec,
                text,
                state,
            });
            next = spec.trigger.next_after(spec.timezone, due, anchor);
        }
    }
    items.sort_by(|a, b| {
        (a.due, a.spec.record_as.as_str()).cmp(&(b.due, b.spec.record_as.as_str()))
    });
    (items, cut)
}

/// Where it goes: pools, desktops, the audience.
fn target(spec: &ScheduleSpec) -> String {
    let mut parts: Vec<String> = spec.pools.iter().map(|p| format!("pool {p}")).collect();
    match spec.desktops.len() {
        0 => {}
        1 => parts.push(format!("desktop {}", spec.desktops[0])),
        n => parts.push(format!("{n} desktops")),
    }
    let audience = spec.audience.describe();
    if !audience.is_empty() {
        parts.push(audience);
    }
    parts.join(", ")
}

/// What it is: the schedule, or which message of which window or task warning.
fn what(spec: &ScheduleSpec) -> String {
    match spec.content.noun() {
        "schedule" => "schedule".to_owned(),
        _ => spec.describe_trigger(),
    }
}

fn print_table(items: &[Item<'_>]) {
    let cells: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let mark = match i.state {
                "planned" => String::new(),
                other => format!("[{other}] "),
            };
            vec![
                shown(i.due, Natural::Machine),
                i.spec.record_as.to_string(),
                what(i.spec),
                target(i.spec),
                format!("{mark}{}", i.text),
            ]
        })
        .collect();
    super::render::print_columns(&["TIME", "SCHEDULE", "WHAT", "TARGET", "TEXT"], &cells);
}

fn print_json(items: &[Item<'_>]) {
    let list: Vec<serde_json::Value> = items.iter().map(item_json).collect();
    super::json::print(&serde_json::Value::Array(list));
}

/// AGENDA_ITEM.
pub(crate) fn item_json(i: &Item<'_>) -> serde_json::Value {
    serde_json::json!({
                "due_at": crate::store::format_time(i.due),
                "local": i.due.with_timezone(&i.spec.timezone).to_rfc3339(),
                "schedule_id": i.spec.record_as.as_str(),
                "workspace": i.spec.workspace.as_str(),
                "what": what(i.spec),
                "target": target(i.spec),
                "text": i.text,
        "state": i.state,
    })
}
