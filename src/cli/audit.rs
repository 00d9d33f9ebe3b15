//! The audit trail from the command line: each changing command records one row (who: the
//! `unix:USER` running it; what; which object; a summary; the global `--note`), and `audit`
//! lists them. The API records the same rows with the token's name as the actor.

use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::OnceLock;

use super::times::{Natural, shown};
use super::{CliError, load_config};
use crate::config::Config;
use crate::store::AuditEntry;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only changes since then: `today`, `-2h`, `2026-12-01`, RFC 3339, ...
    #[arg(long, allow_hyphen_values = true, value_parser = super::when::when_arg)]
    pub since: Option<DateTime<Utc>>,
    /// Only changes to this schedule, window, token or delivery.
    #[arg(long)]
    pub object: Option<String>,
    /// At most this many rows, newest first.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: u32,
    /// AUDIT_ENTRY objects (docs/json.md) instead of a table.
    #[arg(long)]
    pub json: bool,
}

static NOTE: OnceLock<Option<String>> = OnceLock::new();

/// The global `--note`, set once at start.
pub(super) fn set_note(note: Option<String>) {
    let _ = NOTE.set(note);
}

/// Why, as `--note` said (None without one).
pub(super) fn note() -> Option<String> {
    NOTE.get().cloned().flatten()
}

/// Records one change made by this command. A change that was made but could not be recorded
/// is said on stderr and fails the command (exit 1), so a script notices.
pub(super) async fn record(
    config: &Config,
    action: &str,
    object: &str,
    summary: impl Into<String>,
) -> Result<(), CliError> {
    let by = Actor {
        name: super::actor(),
        note: note(),
    };
    record_as(config, &by, action, object, summary).await
}

/// Who makes a change and why: the command line's `unix:USER` and `--note`, or an API
/// token's name and the body's `note`.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub name: String,
    pub note: Option<String>,
}

/// [`record`] for any actor (the API's).
pub(crate) async fn record_as(
    config: &Config,
    by: &Actor,
    action: &str,
    object: &str,
    summary: impl Into<String>,
) -> Result<(), CliError> {
    let entry = AuditEntry {
        at: Utc::now(),
        actor: by.name.clone(),
        action: action.to_owned(),
        object: object.to_owned(),
        summary: summary.into(),
        note: by.note.clone(),
    };
    let store = crate::engine::wiring::open_store(config).await?;
    let result = store.record_audit(&entry).await;
    store.close().await;
    result.map_err(|err| {
        CliError::Reported(format!(
            "the change was made but could not be recorded in the audit trail: {err}"
        ))
    })
}

/// A send of `action` (`send`, `send.test`, `resend`) under `object` that made the
/// deliveries `ids`, by `by`.
pub(crate) async fn record_send_as(
    config: &Config,
    by: &Actor,
    action: &str,
    object: &str,
    ids: &[i64],
) -> Result<(), CliError> {
    let list: Vec<String> = ids.iter().take(20).map(i64::to_string).collect();
    let more = match ids.len() > 20 {
        true => format!(" and {} more", ids.len() - 20),
        false => String::new(),
    };
    record_as(
        config,
        by,
        action,
        object,
        format!("deliveries {}{more}", list.join(", ")),
    )
    .await
}

pub(super) async fn run(config_path: &Path, args: AuditArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let store = super::open_existing_store(&config).await?;
    let rows = store
        .audit(args.since, args.object.as_deref(), args.limit)
        .await?;
    store.close().await;
    if args.json {
        let list: Vec<serde_json::Value> = rows.iter().map(entry_json).collect();
        super::json::print(&serde_json::Value::Array(list));
        return Ok(());
    }
    if rows.is_empty() {
        say!("no changes recorded");
        return Ok(());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                shown(e.at, Natural::Machine),
                e.actor.clone(),
                e.action.clone(),
                e.object.clone(),
                e.summary.clone(),
                e.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    super::render::print_columns(
        &["TIME", "ACTOR", "ACTION", "OBJECT", "SUMMARY", "NOTE"],
        &cells,
    );
    Ok(())
}

/// AUDIT_ENTRY.
pub(crate) fn entry_json(e: &AuditEntry) -> serde_json::Value {
    serde_json::json!({
        "at": crate::store::format_time(e.at), "actor": e.actor, "action": e.action,
        "object": e.object, "summary": e.summary, "note": e.note,
    })
}
