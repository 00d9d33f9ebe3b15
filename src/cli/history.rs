//! `history`: deliveries newest first, as a table or JSON.

use std::path::Path;

use super::times::{Natural, shown_stored};
use super::{CliError, load_config};
use crate::domain::Status;
use crate::store::{DeliveryRow, HistoryFilter};

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Only this schedule (`manual` for `send`).
    #[arg(long)]
    pub schedule: Option<String>,
    /// Only deliveries to this workspace.
    #[arg(long)]
    pub workspace: Option<String>,
    /// Only this status: pending, sent, failed, missed, coalesced, dry_run, cancelled.
    #[arg(long, value_parser = status_arg)]
    pub status: Option<Status>,
    /// At most this many rows.
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: u32,
    /// Only deliveries due since then: `today`, `yesterday`, `HH:MM` (today, local), `-2h`
    /// or `2h` (ago), a date (`2026-12-01`, local midnight), `2026-12-01 22:00` or RFC 3339.
    #[arg(long, allow_hyphen_values = true, value_parser = super::when::when_arg)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only deliveries due before then (same forms as --since; `+2h` is ahead).
    #[arg(long, allow_hyphen_values = true, value_parser = super::when::when_arg)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Only deliveries to this pool or desktop id.
    #[arg(long)]
    pub target: Option<String>,
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum HistoryCommand {
    /// Delete deliveries due longer ago than --older-than, with their attempts and recipients
    /// (pending ones, and ones a newer delivery refers to, are kept). Says how many rows went.
    #[command(
        after_help = "Examples:\n  workspace-notifier history prune --older-than 90d --config config/example.toml\n\n[history] keep = \"90d\" makes the daemon do this daily."
    )]
    Prune {
        /// How old a delivery's due time must be to go, e.g. 90d (at least 1d).
        #[arg(long)]
        older_than: String,
    },
}

/// `--status`, checked by clap like every other argument (a bad value is a usage error, 2).
fn status_arg(text: &str) -> Result<Status, String> {
    Status::parse(text).ok_or_else(|| {
        let known = Status::ALL.map(Status::as_str).join(", ");
        format!("unknown status {text:?}; one of {known}")
    })
}

pub(super) async fn run(config_path: &Path, args: HistoryArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    if let Some(HistoryCommand::Prune { older_than }) = &args.command {
        return prune(&config, older_than).await;
    }
    let (status, since) = (args.status, args.since);
    let store = super::open_existing_store(&config).await?;
    let filter = HistoryFilter {
        schedule_id: args.schedule.clone(),
        status,
        limit: args.limit,
        since,
        workspace: args.workspace.clone(),
        until: args.until,
        target: args.target.clone(),
    };
    let rows = store.history(&filter).await?;
    // A cut list says so (and how to see more), on stderr: the table or JSON stays as it is.
    if rows.len() == args.limit as usize {
        let total = store.history_count(&filter).await?;
        if total > i64::from(args.limit) {
            tell!(
                "{} of {} deliveries; use --limit (-n) for more",
                rows.len(),
                thousands(total)
            );
        }
    }
    store.close().await;
    if args.json {
        let json: Vec<serde_json::Value> = rows.iter().map(super::json::delivery).collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&json).expect("JSON values serialize")
        );
    } else {
        print_table(&rows);
    }
    Ok(())
}

fn print_table(rows: &[DeliveryRow]) {
    if rows.is_empty() {
        say!("no deliveries recorded");
        return;
    }
    let dash = || "-".to_owned();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let error = match (&r.error_code, &r.error_msg) {
                (Some(code), Some(msg)) => format!("{code}: {msg}"),
                (None, Some(msg)) => msg.clone(),
                (Some(code), None) => code.clone(),
                (None, None) => String::new(),
            };
            let error = match &r.job_error {
                Some(job_error) if error.is_empty() => job_error.clone(),
                _ => error,
            };
            vec![
                r.id.to_string(),
                shown_stored(&r.due_at, Natural::Utc),
                r.schedule_id.clone(),
                r.pool_id.clone(),
                r.status.clone(),
                r.attempts.to_string(),
                r.job_id.clone().unwrap_or_else(dash),
                r.desktops_summary(),
                r.audience_summary().unwrap_or_else(dash),
                r.http_status.map_or_else(dash, |s| s.to_string()),
                error.replace('\n', " "),
            ]
        })
        .collect();
    super::render::print_columns(
        &[
            "ID",
            "DUE (UTC)",
            "SCHEDULE",
            "POOL",
            "STATUS",
            "TRY",
            "JOB_ID",
            "DESKTOPS",
            "AUDIENCE",
            "HTTP",
            "ERROR",
        ],
        &cells,
    );
}

/// `history prune --older-than D`.
async fn prune(config: &crate::config::Config, older_than: &str) -> Result<(), CliError> {
    let keep = humantime::parse_duration(older_than.trim())
        .ok()
        .filter(|d| d.as_secs() >= 86_400)
        .ok_or_else(|| {
            super::invalid(
                "--older-than",
                format!("{older_than:?} is not a duration of at least 1d (e.g. 90d)"),
            )
        })?;
    let store = super::open_existing_store(config).await?;
    let cutoff = crate::domain::time_math::minus(chrono::Utc::now(), keep);
    let pruned = store.prune(cutoff).await?;
    store.close().await;
    match pruned {
        Some(p) => say!(
            "pruned {} deliveries, {} attempts and {} recipients due before {}",
            p.deliveries,
            p.attempts,
            p.recipients,
            crate::store::format_time(cutoff)
        ),
        None => say!("another instance is pruning the history now; nothing done"),
    }
    Ok(())
}

/// `200014` as `200,014`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(super::thousands(200_014), "200,014");
        assert_eq!(super::thousands(50), "50");
        assert_eq!(super::thousands(1_000), "1,000");
    }
}
