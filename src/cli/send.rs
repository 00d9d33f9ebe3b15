//! `send`: one delivery now, claimed, attempted and recorded exactly like a scheduled one.

use std::path::Path;

use super::{CliError, load_config};
use crate::config::Config;
use crate::config::Errors;
use crate::domain::{PoolId, ScheduleId, manual_schedule_id};
use crate::engine::delivery::{Outcome, Shutdown};
use crate::engine::wiring;
use crate::platform::clock::Clock;
use crate::store::{DeliveryRow, NewDelivery, Status};
use std::sync::Arc;

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
    let mut done = deliver_now(&config, schedule_id, &[pool], &args.message).await?;
    let Some(Delivered {
        id, outcome, row, ..
    }) = done.pop()
    else {
        return Err(CliError::Failed(anyhow::anyhow!(
            "a delivery for this pool at this instant already exists"
        )));
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

/// One finished delivery of [`deliver_now`].
pub(super) struct Delivered {
    pub id: i64,
    pub pool: PoolId,
    pub outcome: Outcome,
    pub row: Option<DeliveryRow>,
}

/// `text` to each of `pools` now, through the daemon's path: claimed (as this registered
/// instance, so a starting daemon leaves the rows alone), attempted, retried, recorded.
/// Ctrl-C leaves unfinished rows pending for the daemon. Used by `send` and by
/// `maintenance cancel --notice`.
pub(super) async fn deliver_now(
    config: &Config,
    schedule_id: ScheduleId,
    pools: &[PoolId],
    text: &str,
) -> Result<Vec<Delivered>, CliError> {
    let sender = wiring::build_sender(config, &wiring::process_env)?;
    let (store, _instance) = wiring::open_claiming_store(config).await?;
    let clock = Clock::system();
    let now = clock.now();
    let deadline = crate::domain::time_math::plus(now, config.retry.max_elapsed);
    let batch: Vec<NewDelivery> = pools
        .iter()
        .map(|pool| NewDelivery {
            schedule_id: schedule_id.clone(),
            pool_id: pool.clone(),
            due_at: now,
            deadline_at: deadline,
            message: text.to_owned(),
            status: Status::Pending,
            error_msg: None,
            may_be_cancelled: false,
        })
        .collect();
    let claimed = store
        .claim_deliveries(&batch, &[], now)
        .await
        .map_err(anyhow::Error::from)?;
    let deliverer = Arc::new(wiring::build_deliverer(
        config,
        store.clone(),
        sender,
        clock,
    ));
    let shutdown = Shutdown::default();
    let stopper = shutdown.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stopper.stop.cancel();
            stopper.abort.cancel();
        }
    });
    let mut tasks = tokio::task::JoinSet::new();
    for delivery in claimed {
        let (deliverer, shutdown) = (Arc::clone(&deliverer), shutdown.clone());
        tasks.spawn(async move {
            let (id, pool) = (delivery.id, delivery.pool_id.clone());
            (id, pool, deliverer.deliver(delivery, &shutdown).await)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (id, pool, outcome) = joined.map_err(|e| CliError::Failed(e.into()))?;
        let outcome = outcome.map_err(anyhow::Error::from)?;
        let row = store.delivery(id).await.ok().flatten();
        done.push(Delivered {
            id,
            pool,
            outcome,
            row,
        });
    }
    ctrl_c.abort();
    store.close().await;
    Ok(done)
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
        _ => Err(CliError::Invalid(errors.0)),
    }
}
