//! `send`: one delivery now, claimed, attempted and recorded exactly like a scheduled one.

use std::path::Path;

use super::{CliError, failure, load_config};
use crate::config::Errors;
use crate::domain::{DesktopId, PoolId, ScheduleId, Target, WorkspaceName, manual_schedule_id};
use crate::engine::delivery::Outcome;
use crate::engine::immediate;
use crate::store::DeliveryRow;

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Desktop pool id to notify (every user of the pool).
    #[arg(long, required_unless_present_any = ["desktops", "tags", "enterprise_project", "users", "all_desktops"])]
    pub pool: Option<String>,
    /// Send the next message of this schedule, window or task warning rule, rendered as it
    /// will go out, now to the --desktop(s) only; recorded as `test:ID`.
    #[arg(long, value_name = "SCHEDULE_ID", requires = "desktops", conflicts_with_all = ["pool", "message", "schedule_id", "wait"])]
    pub test: Option<String>,
    /// A desktop id to notify; repeat for several (sent in batches of [jobs] desktop_batch).
    #[arg(long = "desktop")]
    pub desktops: Vec<String>,
    #[command(flatten)]
    pub selectors: super::args::SelectorArgs,
    /// The text users see.
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "test",
        default_value = "",
        hide_default_value = true
    )]
    pub message: String,
    /// The workspace (a [[workspaces]] name) to send through; required when several are
    /// configured.
    #[arg(long)]
    pub workspace: Option<String>,
    /// `schedule_id` recorded for this delivery (default `manual`).
    #[arg(long)]
    pub schedule_id: Option<String>,
    /// Wait for the job's per-desktop result (at most jobs.give_up_after); exit 0 only if
    /// every desktop got it.
    #[arg(long)]
    pub wait: bool,
    /// Print the deliveries made, as `history --json` does, instead of words.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(config_path: &Path, args: SendArgs) -> Result<(), CliError> {
    if args.json {
        super::term::json_only();
    }
    let config = load_config(config_path)?;
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    let (result, ids) = match apply_send(&config, &by, &args).await? {
        Sent::One { workspace, done } => {
            let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
            (report(&config, &args, &workspace, done).await, ids)
        }
        Sent::Audience(done) => {
            let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
            (report_audience(&done), ids)
        }
    };
    if args.json {
        super::json::print(&super::json::deliveries(&config, &ids).await?);
    }
    result
}

/// What a send made: the delivery (or desktop batches) of a plain or test send, or the
/// deliveries to an audience resolved now.
pub(crate) enum Sent {
    One {
        workspace: WorkspaceName,
        done: Vec<immediate::Delivered>,
    },
    Audience(Vec<immediate::Delivered>),
}

impl Sent {
    pub(crate) fn ids(&self) -> Vec<i64> {
        match self {
            Sent::One { done, .. } | Sent::Audience(done) => done.iter().map(|d| d.id).collect(),
        }
    }
}

/// The send itself, recorded in the audit trail as `by`'s (the command line's and the
/// API's): `--test` (the next message of a schedule to the desktops given), selectors (an
/// audience listed now), or pools and desktops.
pub(crate) async fn apply_send(
    config: &crate::config::Config,
    by: &super::audit::Actor,
    args: &SendArgs,
) -> Result<Sent, CliError> {
    if let Some(id) = &args.test {
        let sent = super::send_test::send(config, id, &args.desktops).await?;
        let ids: Vec<i64> = sent.done.iter().map(|d| d.id).collect();
        super::audit::record_send_as(config, by, "send.test", id, &ids).await?;
        return Ok(Sent::One {
            workspace: sent.workspace,
            done: sent.done,
        });
    }
    if args.selectors.is_set() {
        return send_to_audience(config, by, args).await.map(Sent::Audience);
    }
    let (targets, schedule_id, workspace) = validate(args, config)?;
    let done = immediate::deliver_now(
        config,
        (schedule_id, workspace.clone()),
        &targets,
        immediate::Outgoing {
            text: args.message.clone(),
            ..Default::default()
        },
    )
    .await?;
    let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
    super::audit::record_send_as(config, by, "send", &schedule_id_of(args), &ids).await?;
    Ok(Sent::One { workspace, done })
}

/// What a plain `send` records its deliveries under (`manual` unless `--schedule-id`).
fn schedule_id_of(args: &SendArgs) -> String {
    args.schedule_id
        .clone()
        .unwrap_or_else(|| manual_schedule_id().to_string())
}

/// `send` with selectors: listed now, resolved, sent to the desktops found.
async fn send_to_audience(
    config: &crate::config::Config,
    by: &super::audit::Actor,
    args: &SendArgs,
) -> Result<Vec<immediate::Delivered>, CliError> {
    let raw = crate::config::RawSchedule {
        id: args
            .schedule_id
            .clone()
            .unwrap_or_else(|| manual_schedule_id().to_string()),
        workspace: args.workspace.clone(),
        at: Some(chrono::Utc::now().to_rfc3339()),
        pools: args.pool.iter().cloned().collect(),
        desktops: args.desktops.clone(),
        message: args.message.clone(),
        ..args.selectors.raw_schedule()
    };
    let spec = super::validate_flags(|key, errors| {
        let key = |field: &str| match field {
            "id" => "--schedule-id".to_owned(),
            other => key(other),
        };
        crate::config::validate_schedule(
            &raw,
            &key,
            &config.defaults(),
            crate::domain::schedule::Source::Database,
            errors,
        )
    })?;
    let done = immediate::deliver_to_audience(config, &spec).await?;
    let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
    super::audit::record_send_as(config, by, "send", spec.id.as_str(), &ids).await?;
    Ok(done)
}

/// Each delivery of an audience send, in words; an error when one failed.
fn report_audience(done: &[immediate::Delivered]) -> Result<(), CliError> {
    let mut failed = None;
    for d in done {
        match &d.outcome {
            Outcome::Sent { job_id } => say!(
                "{}: {} (delivery {})",
                d.target,
                job_id.as_deref().unwrap_or("sent, no job_id"),
                d.id
            ),
            Outcome::DryRun => say!(
                "{}: dry run, recorded as delivery {}, not sent",
                d.target,
                d.id
            ),
            Outcome::Failed { reason } => {
                tell!(
                    "error: delivery {} ({}) failed: {}",
                    d.id,
                    d.target,
                    describe_failure(d.row.as_ref(), reason)
                );
                failed = Some(reason.clone());
            }
            Outcome::LeftPending => {
                tell!(
                    "interrupted: delivery {} is left pending; the daemon resumes it",
                    d.id
                );
                failed = Some("interrupted".to_owned());
            }
            Outcome::AlreadyDone => {}
        }
    }
    match failed {
        Some(reason) => Err(CliError::Reported(reason)),
        None => Ok(()),
    }
}

/// What happened to the delivery, in words (and `--wait`'s following of its job).
async fn report(
    config: &crate::config::Config,
    args: &SendArgs,
    workspace: &WorkspaceName,
    mut done: Vec<immediate::Delivered>,
) -> Result<(), CliError> {
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
            say!("{job_id}");
            match args.wait {
                true => wait_for_desktops(config, workspace, id).await,
                false => Ok(()),
            }
        }
        Outcome::Sent { job_id: None } => {
            say!("sent (delivery {id}), but the answer carried no job_id; see `history`");
            Ok(())
        }
        Outcome::DryRun => {
            say!("dry run: recorded as delivery {id}, not sent (daemon.dry_run = true)");
            Ok(())
        }
        Outcome::Failed { reason } => {
            tell!(
                "error: delivery {id} failed: {}",
                describe_failure(row.as_ref(), &reason)
            );
            Err(CliError::Reported(reason))
        }
        Outcome::LeftPending => {
            tell!("interrupted: delivery {id} is left pending; the daemon resumes it");
            Err(CliError::Reported("interrupted".into()))
        }
        Outcome::AlreadyDone => Ok(()),
    }
}

/// `send --wait`: follows the job, showing its progress, and prints `N/M desktops`.
async fn wait_for_desktops(
    config: &crate::config::Config,
    workspace: &WorkspaceName,
    id: i64,
) -> Result<(), CliError> {
    use crate::domain::job::JobResult;
    use crate::engine::jobs::{JobFollower, Polled};
    use std::io::IsTerminal;
    if !config.jobs.enabled {
        return Err(failure(
            "--wait needs [jobs] enabled = true: the job's result is not followed",
        ));
    }
    let routes =
        crate::engine::wiring::build_route(config, workspace, &crate::engine::wiring::process_env)?;
    if routes.dry_run() {
        return Ok(());
    }
    let store = crate::engine::wiring::open_store(config).await?;
    let follower = JobFollower::new(
        store.clone(),
        std::sync::Arc::new(routes),
        config.jobs,
        crate::platform::clock::Clock::system(),
    );
    let terminal = std::io::stderr().is_terminal();
    follower
        .follow_one(id, |polled| {
            if let Polled::Running {
                status,
                done,
                total,
            } = polled
            {
                let total = total.map_or("?".to_owned(), |t| t.to_string());
                match terminal {
                    true => eprint!(
                        "\r{}",
                        super::term::safe(&format!(
                            "job {status}: {done} of {total} desktops done   "
                        ))
                    ),
                    false => tell!("job {status}: {done} of {total} desktops done"),
                }
            }
        })
        .await?;
    if terminal {
        tell!();
    }
    let row = store.delivery(id).await?;
    store.close().await;
    let Some(row) = row else {
        return Err(failure(format!("delivery {id} vanished")));
    };
    say!("{} desktops", row.desktops_summary());
    match row.job_result.as_deref() {
        Some(result) if result == JobResult::Ok.as_str() => Ok(()),
        _ => {
            tell!(
                "error: not every desktop got it ({}); see `show {id}`{}",
                row.desktops_summary(),
                row.job_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            Err(CliError::Reported("not every desktop got it".into()))
        }
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

fn validate(
    args: &SendArgs,
    config: &crate::config::Config,
) -> Result<(Vec<Target>, ScheduleId, WorkspaceName), CliError> {
    let mut errors = Errors::default();
    let defaults = config.defaults();
    let workspace = errors.take("--workspace", defaults.workspace(&args.workspace));
    let mut targets = Vec::new();
    if let Some(pool) = &args.pool {
        targets.extend(
            errors
                .take(
                    "--pool",
                    PoolId::parse(pool).map_err(|e| format!("{e}, got {pool:?}")),
                )
                .map(Target::Pool),
        );
    }
    let mut desktops = Vec::new();
    for id in &args.desktops {
        desktops.extend(errors.take(
            "--desktop",
            DesktopId::parse(id).map_err(|e| format!("{e}, got {id:?}")),
        ));
    }
    targets.extend(Target::desktop_batches(
        "desktops:",
        &desktops,
        config.jobs.desktop_batch,
    ));
    let schedule_id = match &args.schedule_id {
        Some(id) => errors.take(
            "--schedule-id",
            ScheduleId::parse(id).map_err(|e| format!("{e}, got {id:?}")),
        ),
        None => Some(manual_schedule_id()),
    };
    if args.message.trim().is_empty() {
        errors.push("--message", "must not be empty");
    } else if let Some(problem) = workspace
        .as_ref()
        .and_then(|w| defaults.too_long(w, &args.message))
    {
        errors.push("--message", problem);
    }
    match (schedule_id, workspace) {
        (Some(id), Some(workspace)) if errors.is_empty() && !targets.is_empty() => {
            Ok((targets, id, workspace))
        }
        _ => Err(CliError::Invalid(errors.into_vec())),
    }
}
