//! `resend DELIVERY_ID`: the same text again, to the desktops whose sub-job failed, in
//! batches of `[jobs] desktop_batch`, as new deliveries linked to the original.

use std::path::Path;

use super::send::describe_failure;
use super::{CliError, failure, load_config};
use crate::engine::delivery::Outcome;
use crate::engine::immediate;
use crate::engine::resend::{failed_desktops, resend_targets};
use crate::engine::wiring;

#[derive(Debug, clap::Args)]
pub struct ResendArgs {
    /// The delivery whose failed desktops get the message again (see `history`, `show`).
    pub id: i64,
    /// Re-send although the delivery was re-sent before (its failed desktops get it again).
    #[arg(long)]
    pub again: bool,
    /// Re-send although the delivery's deadline has passed (for a maintenance warning: the
    /// next warning or the start is due; the countdown then tells the time left, or 0).
    #[arg(long)]
    pub past_deadline: bool,
    /// Print the re-sends made, as `history --json` does, instead of words.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(config_path: &Path, args: ResendArgs) -> Result<(), CliError> {
    if args.json {
        super::term::json_only();
    }
    let config = load_config(config_path)?;
    let store = wiring::open_store(&config).await?;
    let Some(row) = store.delivery(args.id).await? else {
        return Err(failure(format!("no delivery {} (see `history`)", args.id)));
    };
    if row.job_result.is_none() {
        store.close().await;
        return Err(failure(format!(
            "delivery {} has no job result yet ({}); re-send once its job has ended",
            args.id,
            row.desktops_summary()
        )));
    }
    let failed = failed_desktops(&store.recipients(args.id).await?);
    let source = store.resend_source(args.id).await?;
    let earlier = store.resends_of(args.id).await?;
    store.close().await;
    if !earlier.is_empty() && !args.again {
        let ids: Vec<String> = earlier.iter().map(i64::to_string).collect();
        return Err(failure(format!(
            "delivery {} was already re-sent (delivery {}; see `show`): its failed desktops would get the message twice; add --again to re-send once more",
            args.id,
            ids.join(", ")
        )));
    }
    let now = chrono::Utc::now();
    if let Some(source) = source.as_ref().filter(|s| s.deadline_at <= now)
        && !args.past_deadline
    {
        return Err(failure(format!(
            "delivery {}'s deadline {} has passed (a warning must not arrive after the next one or the start): add --past-deadline to send it anyway",
            args.id,
            crate::store::format_time(source.deadline_at)
        )));
    }
    let Some(source) = source.filter(|_| !failed.is_empty()) else {
        say!(
            "delivery {}: no desktop to re-send to ({})",
            args.id,
            row.desktops_summary()
        );
        if args.json {
            super::json::print(&serde_json::json!([]));
        }
        return Ok(());
    };
    // Sent now, never past the original's deadline (unless --past-deadline: then that of any
    // one-off send, now + retry.max_elapsed).
    let targets = resend_targets(args.id, &failed, config.jobs.desktop_batch);
    let done = immediate::deliver_now(
        &config,
        (source.schedule_id, source.workspace),
        &targets,
        immediate::Outgoing {
            text: source.message,
            countdown: source.countdown,
            parent_id: Some(args.id),
            deadline: (!args.past_deadline).then_some(source.deadline_at),
        },
    )
    .await?;
    let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
    super::audit::record_send(&config, "resend", &args.id.to_string(), &ids).await?;
    if args.json {
        super::json::print(&super::json::deliveries(&config, &ids).await?);
    }
    let mut failures = 0;
    for delivered in done {
        match delivered.outcome {
            Outcome::Sent { job_id } => say!(
                "re-sent to {}: delivery {}, job_id {}",
                delivered.target,
                delivered.id,
                job_id.as_deref().unwrap_or("-")
            ),
            Outcome::Failed { reason } => {
                failures += 1;
                tell!(
                    "error: re-send to {} (delivery {}) failed: {}",
                    delivered.target,
                    delivered.id,
                    describe_failure(delivered.row.as_ref(), &reason)
                );
            }
            other => say!("re-send delivery {}: {other:?}", delivered.id),
        }
    }
    match failures {
        0 => Ok(()),
        n => Err(CliError::Reported(format!("{n} re-send(s) failed"))),
    }
}
