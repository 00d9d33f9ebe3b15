//! `history`: deliveries newest first, as a table or JSON.

use std::io::Write;
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
        offset: 0,
    };
    // Rows are streamed: a JSON element is written as it is read, a table row kept packed
    // (its cells joined), so memory follows the output's size, not the rows'.
    let mut count: usize = 0;
    let mut packed: Vec<Box<str>> = Vec::new();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let streamed = store
        .history_each(&filter, |row| -> Result<(), CliError> {
            count += 1;
            match args.json {
                true => json_element(&mut out, count == 1, &row),
                false => {
                    packed.push(packed_row(&row));
                    Ok(())
                }
            }
        })
        .await;
    // A cut list says so (and how to see more), on stderr: the table or JSON stays as it is.
    let total = match count == args.limit as usize && streamed.is_ok() {
        true => Some(store.history_count(&filter).await?),
        false => None,
    };
    store.close().await;
    if args.json {
        let end = if count == 0 { "[]\n" } else { "\n]\n" };
        let _ = out.write_all(end.as_bytes()).and_then(|()| out.flush());
    }
    drop(out);
    streamed?;
    if !args.json {
        print_table(&packed);
    }
    if let Some(total) = total.filter(|t| *t > i64::from(args.limit)) {
        tell!(
            "{} of {} deliveries; use --limit (-n) for more",
            thousands(count as i64),
            thousands(total)
        );
    }
    Ok(())
}

/// One element of the JSON array, as `serde_json::to_string_pretty` would indent it inside
/// the array. A closed pipe (the reader left) stops the listing.
fn json_element(out: &mut impl Write, first: bool, row: &DeliveryRow) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(&super::json::delivery(row))
        .expect("JSON values serialize")
        .replace('\n', "\n  ");
    let lead = if first { "[\n  " } else { ",\n  " };
    out.write_all(lead.as_bytes())
        .and_then(|()| out.write_all(text.as_bytes()))
        .map_err(|err| CliError::Reported(format!("cannot write the history: {err}")))
}

/// A table row, its cells joined by [`super::render::CELL`].
fn packed_row(r: &DeliveryRow) -> Box<str> {
    let sep = super::render::CELL.to_string();
    cells(r)
        .iter()
        .map(|c| c.replace(super::render::CELL, " "))
        .collect::<Vec<_>>()
        .join(&sep)
        .into_boxed_str()
}

fn print_table(rows: &[Box<str>]) {
    if rows.is_empty() {
        say!("no deliveries recorded");
        return;
    }
    super::render::print_packed(
        &[
            "ID", "DUE", "SCHEDULE", "POOL", "STATUS", "TRY", "JOB_ID", "DESKTOPS", "AUDIENCE",
            "HTTP", "ERROR",
        ],
        rows,
    );
}

fn cells(r: &DeliveryRow) -> Vec<String> {
    let dash = || "-".to_owned();
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
