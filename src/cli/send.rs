//! `send`: one delivery now, claimed, attempted and recorded exactly like a scheduled one.

use std::path::Path;

use super::{CliError, failure, load_config};
use crate::config::Errors;
use crate::domain::{PoolId, ScheduleId, manual_schedule_id};
use crate::engine::delivery::Outcome;
use crate::engine::immediate;
use crate::store::DeliveryRow;

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Desktop pool id to notify.
    #[arg(long)]
    pub pool: String,
    /// The text users see.
    #[arg(long, allow_hyphen_values = true)]
    pub message: String,
    /// `schedule_id` recorded for this delivery (default `manual`).
    #[arg(long)]
    pub schedule_id: Option<String>,
}

pub async fn run(config_path: &Path, args: SendArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let (pool, schedule_id) = validate(&args, config.workspace.max_message_chars)?;
    let mut done = immediate::deliver_now(&config, schedule_id, &[pool], &args.message).await?;
    let Some(immediate::Delivered {
        id, outcome, row, ..
    }) = done.pop()
    else {
        return Err(failure(
            "a delivery for this pool at this instant already exists",
        ));
    };
    match outcome {
        Outcome::Sent {
            job_id: Some(job_id),
        } => {
            println!("{job_id}");
            Ok(())
        }
        Outcome::Sent { job_id: None } => {
            println!("sent (delivery {id}), but the answer carried no job_id; see `history`");
            Ok(())
        }
        Outcome::DryRun => {
            println!("dry run: recorded as delivery {id}, not sent (daemon.dry_run = true)");
            Ok(())
        }
        Outcome::Failed { reason } => {
            eprintln!(
                "error: delivery {id} failed: {}",
                describe_failure(row.as_ref(), &reason)
            );
            Err(CliError::Reported(reason))
        }
        Outcome::LeftPending => {
            eprintln!("interrupted: delivery {id} is left pending; the daemon resumes it");
            Err(CliError::Reported("interrupted".into()))
        }
        Outcome::AlreadyDone => Ok(()),
    }
}

/// "after 1 attempt(s): HTTP 400 WKS.0005: Invalid desktop pool id (X-Request-Id req-1)".
pub(super) fn describe_failure(row: Option<&DeliveryRow>, reason: &str) -> String {
    let Some(row) = row else {
        return reason.to_owned();
    };
    let mut text = format!("after {} attempt(s): ", row.attempts);
    if let Some(status) = row.http_status {
        text.push_str(&format!("HTTP {status} "));
    }
    if let Some(code) = &row.error_code {
        text.push_str(&format!("{code}: "));
    }
    text.push_str(reason);
    if let Some(request_id) = &row.request_id {
        text.push_str(&format!(" (X-Request-Id {request_id})"));
    }
    text
}

fn validate(args: &SendArgs, max_chars: Option<usize>) -> Result<(PoolId, ScheduleId), CliError> {
    let mut errors = Errors::default();
    let pool = errors.take(
        "--pool",
        PoolId::parse(&args.pool).map_err(|e| format!("{e}, got {:?}", args.pool)),
    );
    let schedule_id = match &args.schedule_id {
        Some(id) => errors.take(
            "--schedule-id",
            ScheduleId::parse(id).map_err(|e| format!("{e}, got {id:?}")),
        ),
        None => Some(manual_schedule_id()),
    };
    let chars = args.message.chars().count();
    if args.message.trim().is_empty() {
        errors.push("--message", "must not be empty");
    } else if let Some(max) = max_chars.filter(|max| chars > *max) {
        errors.push(
            "--message",
            format!("is {chars} characters, more than workspace.max_message_chars = {max}"),
        );
    }
    match (pool, schedule_id) {
        (Some(pool), Some(id)) if errors.is_empty() => Ok((pool, id)),
        _ => Err(CliError::Invalid(errors.into_vec())),
    }
}
