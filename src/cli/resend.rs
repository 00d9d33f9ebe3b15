//! `resend DELIVERY_ID`: the same text again, to the desktops whose sub-job failed, in
//! batches of `[jobs] desktop_batch`, as new deliveries linked to the original.

use std::path::Path;

use super::send::describe_failure;
use super::{CliError, failure, load_config};
use crate::config::Config;
use crate::engine::delivery::Outcome;
use crate::engine::immediate::{self, Delivered};
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
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    let done = match apply_resend(&config, &by, args.id, (args.again, args.past_deadline)).await? {
        Resent::Nothing(summary) => {
            say!("delivery {}: no desktop to re-send to ({summary})", args.id);
            if args.json {
                super::json::print(&serde_json::json!([]));
            }
            return Ok(());
        }
        Resent::Made(done) => done,
    };
    if args.json {
        let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
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

/// What a re-send did: nothing to re-send (the delivery's desktop summary), or the new
/// deliveries.
pub(crate) enum Resent {
    Nothing(String),
    Made(Vec<Delivered>),
}

/// The re-send itself, recorded in the audit trail as `by`'s (the command line's and the
/// console's): refused when the delivery has no job result yet, was re-sent before (unless
/// `again`), or its deadline passed (unless `past_deadline`).
pub(crate) async fn apply_resend(
    config: &Config,
    by: &super::audit::Actor,
    id: i64,
    (again, past_deadline): (bool, bool),
) -> Result<Resent, CliError> {
    let store = wiring::open_store(config).await?;
    let Some(row) = store.delivery(id).await? else {
        store.close().await;
        return Err(super::not_found(format!(
            "no delivery {id} (see `history`)"
        )));
    };
    if row.job_result.is_none() {
        store.close().await;
        return Err(failure(format!(
            "delivery {id} has no job result yet ({}); re-send once its job has ended",
            row.desktops_summary()
        )));
    }
    let failed = failed_desktops(&store.recipients(id).await?);
    let source = store.resend_source(id).await?;
    let earlier = store.resends_of(id).await?;
    store.close().await;
    if !earlier.is_empty() && !again {
        let ids: Vec<String> = earlier.iter().map(i64::to_string).collect();
        return Err(failure(format!(
            "delivery {id} was already re-sent (delivery {}; see `show`): its failed desktops would get the message twice; add --again to re-send once more",
            ids.join(", ")
        )));
    }
    let now = chrono::Utc::now();
    if let Some(source) = source.as_ref().filter(|s| s.deadline_at <= now)
        && !past_deadline
    {
        return Err(failure(format!(
            "delivery {id}'s deadline {} has passed (a warning must not arrive after the next one or the start): add --past-deadline to send it anyway",
            crate::store::format_time(source.deadline_at)
        )));
    }
    let Some(source) = source.filter(|_| !failed.is_empty()) else {
        return Ok(Resent::Nothing(row.desktops_summary()));
    };
    // Sent now, never past the original's deadline (unless --past-deadline: then that of any
    // one-off send, now + retry.max_elapsed).
    let targets = resend_targets(id, &failed, config.jobs.desktop_batch);
    let done = immediate::deliver_now(
        config,
        (source.schedule_id, source.workspace),
        &targets,
        immediate::Outgoing {
            text: source.message,
            countdown: source.countdown,
            parent_id: Some(id),
            deadline: (!past_deadline).then_some(source.deadline_at),
        },
    )
    .await?;
    let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
    super::audit::record_send_as(config, by, "resend", &id.to_string(), &ids).await?;
    Ok(Resent::Made(done))
}
