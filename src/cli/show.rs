//! `show DELIVERY_ID`: one delivery with its attempts and, once its job was followed, every
//! desktop's result (those that did not get it first).

use std::path::Path;

use super::times::{Natural, shown_stored};
use super::{CliError, load_config};

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The delivery's id (first column of `history`).
    pub id: i64,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(config_path: &Path, args: ShowArgs) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let store = super::open_existing_store(&config).await?;
    let Some(row) = store.delivery(args.id).await? else {
        return Err(super::not_found(format!(
            "no delivery {} (see `history` for ids)",
            args.id
        )));
    };
    let attempts = store.attempts_of(args.id).await?;
    let recipients = store.recipients(args.id).await?;
    store.close().await;
    if args.json {
        let mut doc = super::json::delivery(&row);
        doc["http_attempts"] = attempts.iter().map(super::json::attempt).collect();
        doc["recipients"] = recipients.iter().map(super::json::recipient).collect();
        super::json::print(&doc);
        return Ok(());
    }
    say!(
        "delivery {}: {} to pool {}",
        row.id,
        row.schedule_id,
        row.pool_id
    );
    if let Some(parent) = row.parent_id {
        say!("re-sends:  delivery {parent} (to its desktops that did not get it)");
    }
    say!("workspace: {}", row.workspace);
    say!("due:       {}", shown_stored(&row.due_at, Natural::Utc));
    say!("status:    {}", row.status);
    say!("job:       {}", row.job_id.as_deref().unwrap_or("-"));
    say!(
        "desktops:  {}{}",
        row.desktops_summary(),
        row.job_status
            .as_deref()
            .map(|s| format!(" (job status {s})"))
            .unwrap_or_default()
    );
    if let Some(error) = &row.job_error {
        say!("job note:  {error}");
    }
    if let (Some(summary), Some(selector)) = (row.audience_summary(), &row.selector) {
        say!("audience:  {summary} desktops sent to of matched ({selector})");
    }
    say!("message:   {}", row.message);
    say!("attempts:");
    for a in &attempts {
        say!(
            "  #{} {} HTTP {} {}{}",
            a.attempt,
            shown_stored(&a.started_at, Natural::Utc),
            a.http_status.map_or("-".to_owned(), |s| s.to_string()),
            a.error_code
                .as_deref()
                .map(|c| format!("{c} "))
                .unwrap_or_default(),
            a.error_msg.as_deref().unwrap_or(""),
        );
    }
    if !recipients.is_empty() {
        say!("desktops (did not get it first):");
        let rows: Vec<Vec<String>> = recipients
            .iter()
            .map(|r| {
                vec![
                    r.status.clone(),
                    r.desktop_id.clone(),
                    r.user_name.clone().unwrap_or_else(|| "-".into()),
                    r.desktop_name.clone().unwrap_or_else(|| "-".into()),
                    [r.error_code.as_deref(), r.fail_reason.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": "),
                ]
            })
            .collect();
        super::render::print_indented(
            "  ",
            &["STATUS", "DESKTOP", "USER", "DESKTOP NAME", "REASON"],
            &rows,
        );
        let resolved = ["targeted", "not_connected", "in_pool"];
        if recipients
            .iter()
            .any(|r| resolved.contains(&r.status.as_str()))
        {
            say!(
                "  (targeted: sent to, no job result yet; not_connected, in_pool: left out by the audience rules)"
            );
        }
    }
    Ok(())
}
