//! `history`: deliveries newest first, as a table or JSON.

use std::path::Path;

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
    /// Only this status: pending, sent, failed, missed, dry_run, cancelled.
    #[arg(long, value_parser = status_arg)]
    pub status: Option<Status>,
    /// At most this many rows.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Only deliveries due since then: a duration back from now (`2h`, `30m`), a date
    /// (`2026-12-01`, midnight UTC) or an RFC 3339 time.
    #[arg(long, value_parser = since_arg)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--status`, checked by clap like every other argument (a bad value is a usage error, 2).
fn status_arg(text: &str) -> Result<Status, String> {
    Status::parse(text).ok_or_else(|| {
        let known = Status::ALL.map(Status::as_str).join(", ");
        format!("unknown status {text:?}; one of {known}")
    })
}

/// `--since`, checked by clap (a bad value is a usage error, 2).
fn since_arg(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    parse_since(text, chrono::Utc::now())
}

pub(super) async fn run(config_path: &Path, args: HistoryArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let (status, since) = (args.status, args.since);
    let store = super::open_existing_store(&config).await?;
    let filter = HistoryFilter {
        schedule_id: args.schedule.clone(),
        status,
        limit: args.limit,
        since,
        workspace: args.workspace.clone(),
    };
    let rows = store.history(&filter).await?;
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
                r.due_at.clone(),
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

/// `--since`: `2h` (back from `now`), `2026-12-01` (midnight UTC) or RFC 3339.
fn parse_since(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(back) = humantime::parse_duration(text.trim()) {
        return Ok(crate::domain::time_math::minus(now, back));
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    crate::config::instant(text).map_err(|_| {
        format!("{text:?} is not a duration (2h), a date (2026-12-01) or an RFC 3339 time")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_dates_and_times() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .to_utc();
        let at = |t: &str| parse_since(t, now).unwrap().to_rfc3339();
        assert_eq!(at("2h"), "2026-12-02T08:00:00+00:00");
        assert_eq!(at("2026-12-01"), "2026-12-01T00:00:00+00:00");
        assert_eq!(at("2026-12-01T09:00:00+08:00"), "2026-12-01T01:00:00+00:00");
        assert!(
            parse_since("yesterday", now)
                .unwrap_err()
                .contains("yesterday")
        );
    }
}
