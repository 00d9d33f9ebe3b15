//! `maintenance show / postpone / uncancel / remove`: one window as the daemon runs it, moving
//! its next occurrence later, undoing a cancel, and removing a database window.

use chrono::{DateTime, SubsecRound, Utc};
use std::time::Duration;

use super::render::{print_window, window_json};
use super::{CliError, failure, invalid};
use crate::config::Config;
use crate::domain::schedule::Source;
use crate::domain::template::Template;
use crate::domain::time_math::plus;

#[derive(Debug, clap::Args)]
pub struct PostponeArgs {
    /// The window's id (see `maintenance list`).
    pub id: String,
    /// The new start: 23:00, "2026-12-05 23:00" (local), +2h or RFC 3339.
    #[arg(long, value_parser = super::when::when_arg, required_unless_present = "by", conflicts_with = "by")]
    pub to: Option<DateTime<Utc>>,
    /// Or: this much later than planned, e.g. 1h.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub by: Option<Duration>,
    /// Sent at once to the window's pools and desktops; {start} {end} {date} {duration}
    /// {window} are the new occurrence's.
    #[arg(long, allow_hyphen_values = true)]
    pub notice: Option<String>,
    /// Print `{"id", "occurrence_start", "new_start", "closed", "notices": [DELIVERY]}`.
    #[arg(long)]
    pub json: bool,
}

/// Moves the next occurrence that has not started (its warnings may be under way) to a later
/// start: the warnings are planned again before the new start by the daemon's own trigger
/// arithmetic, the old occurrence's claimed warnings are closed, and the notice goes out now.
pub(super) async fn postpone(config: &Config, args: PostponeArgs) -> Result<(), CliError> {
    if args.json {
        super::term::json_only();
    }
    let notice = match &args.notice {
        Some(text) => Some(
            Template::parse(text)
                .ok()
                .filter(|t| !t.names_a_task())
                .ok_or_else(|| {
                    invalid(
                        "--notice",
                        format!("{text:?} is not a valid message template (use {{start}} {{end}} {{date}} {{duration}} {{window}})"),
                    )
                })?,
        ),
        None => None,
    };
    let key = if args.to.is_some() { "--to" } else { "--by" };
    let store = crate::engine::wiring::open_store(config).await?;
    let (catalog, _) = super::load_catalog(config, &store).await?;
    let Some(window) = catalog.windows.iter().find(|w| w.id.as_str() == args.id) else {
        return Err(failure(format!(
            "no maintenance window {:?} (see `maintenance list`)",
            args.id
        )));
    };
    let now = Utc::now();
    let local = |t: DateTime<Utc>| t.with_timezone(&window.timezone).to_rfc3339();
    let Some(next) = window.next_to_cancel(now) else {
        return Err(failure(format!(
            "window {:?} has no occurrence left to postpone",
            args.id
        )));
    };
    if window.is_cancelled(next.start) {
        return Err(failure(format!(
            "the next occurrence of window {:?} ({}) is cancelled; `maintenance uncancel` it first",
            args.id,
            local(next.start)
        )));
    }
    let to = match (args.to, args.by) {
        (Some(to), _) => to,
        (None, Some(by)) => plus(next.start, by),
        (None, None) => unreachable!("clap requires --to or --by"),
    }
    .trunc_subsecs(0);
    if to <= next.start {
        return Err(invalid(
            key,
            format!(
                "{} is not after the occurrence's start {}: postpone moves it later",
                local(to),
                local(next.start)
            ),
        ));
    }
    if let Some(following) = window.next_start_after(next.start).filter(|f| to >= *f) {
        return Err(invalid(
            key,
            format!(
                "{} reaches the following occurrence at {}; cancel this one instead",
                local(to),
                local(following)
            ),
        ));
    }
    let closed = store
        .postpone_window(
            &args.id,
            (next.start, to),
            (next.first_due, next.last_due),
            args.notice.as_deref(),
            now,
        )
        .await?;
    store.close().await;
    super::audit::record(
        config,
        "window.postpone",
        &args.id,
        format!(
            "{} → {}",
            crate::store::format_time(next.start),
            crate::store::format_time(to)
        ),
    )
    .await?;
    say!(
        "postponed window {}: {} → {} ({closed} claimed warning(s) closed); its warnings are planned again before the new start",
        args.id,
        local(next.start),
        local(to)
    );
    let (result, notices) = match &notice {
        Some(template) => {
            let text = window.render_other(template, to);
            super::maintenance::send_notice(config, window, &text).await?
        }
        None => (Ok(()), Vec::new()),
    };
    if args.json {
        super::json::print(&serde_json::json!({
            "id": args.id,
            "occurrence_start": crate::store::format_time(next.start),
            "new_start": crate::store::format_time(to),
            "closed": closed,
            "notices": super::json::deliveries(config, &notices).await?,
        }));
    }
    result
}

pub(super) async fn show(config: &Config, id: &str, json: bool) -> Result<(), CliError> {
    if json {
        super::term::json_only();
    }
    let store = super::open_existing_store(config).await?;
    let (catalog, states) = super::load_catalog(config, &store).await?;
    store.close().await;
    let Some(window) = catalog.windows.iter().find(|w| w.id.as_str() == id) else {
        return Err(failure(format!(
            "no maintenance window {id:?} (see `maintenance list`)"
        )));
    };
    let now = Utc::now();
    if json {
        super::json::print(&window_json(window, now, 4, &states));
        return Ok(());
    }
    print_window(window, now, 4, &states);
    let cancelled: Vec<String> = window
        .cancelled
        .starts
        .iter()
        .map(|s| s.with_timezone(&window.timezone).to_rfc3339())
        .collect();
    if !cancelled.is_empty() {
        say!("  cancelled occurrences: {}", cancelled.join(", "));
    }
    Ok(())
}

pub(super) async fn uncancel(config: &Config, id: &str) -> Result<(), CliError> {
    let store = crate::engine::wiring::open_store(config).await?;
    let (catalog, _) = super::load_catalog(config, &store).await?;
    if !catalog.windows.iter().any(|w| w.id.as_str() == id) {
        return Err(failure(format!(
            "no maintenance window {id:?} (see `maintenance list`)"
        )));
    }
    let undone = store.uncancel_window(id, Utc::now()).await?;
    store.close().await;
    match undone {
        0 => Err(failure(format!(
            "window {id:?} has no cancellation of an occurrence still ahead"
        ))),
        n => {
            super::audit::record(
                config,
                "window.uncancel",
                id,
                format!("{n} cancellation(s) removed"),
            )
            .await?;
            say!(
                "uncancelled window {id} ({n} cancellation(s) removed); its messages go out again"
            );
            Ok(())
        }
    }
}

pub(super) async fn remove(config: &Config, id: &str) -> Result<(), CliError> {
    if config
        .windows
        .iter()
        .any(|w| w.id.as_str() == id && w.source == Source::File)
    {
        return Err(invalid(
            "id",
            format!(
                "window {id:?} is defined in the config file {}; edit the file and reload the daemon (systemctl reload workspace-notifier)",
                config.path.display()
            ),
        ));
    }
    let store = crate::engine::wiring::open_store(config).await?;
    let removed = store.delete_window(id).await?;
    store.close().await;
    match removed {
        true => {
            super::audit::record(config, "window.remove", id, "removed").await?;
            say!("removed window {id}; its delivery history is kept (`history --schedule {id}`)");
            Ok(())
        }
        false => Err(failure(format!(
            "no database window {id:?} (see `maintenance list`)"
        ))),
    }
}
