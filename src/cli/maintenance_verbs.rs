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

pub(super) async fn postpone(config: &Config, args: PostponeArgs) -> Result<(), CliError> {
    if args.json {
        super::term::json_only();
    }
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    let to = match (args.to, args.by) {
        (Some(to), _) => Later::To(to),
        (None, Some(by)) => Later::By(by),
        (None, None) => unreachable!("clap requires --to or --by"),
    };
    let done = apply_postpone(config, &by, &args.id, to, args.notice.as_deref()).await?;
    let local = |t: DateTime<Utc>| t.with_timezone(&done.timezone).to_rfc3339();
    say!(
        "postponed window {}: {} → {} ({} claimed warning(s) closed); its warnings are planned again before the new start",
        args.id,
        local(done.start),
        local(done.to),
        done.closed
    );
    let ids: Vec<i64> = done.notices.iter().map(|d| d.id).collect();
    let result = super::maintenance::print_notices(done.notices);
    if args.json {
        super::json::print(&serde_json::json!({
            "id": args.id,
            "occurrence_start": crate::store::format_time(done.start),
            "new_start": crate::store::format_time(done.to),
            "closed": done.closed,
            "notices": super::json::deliveries(config, &ids).await?,
        }));
    }
    result
}

/// How much later: to a new start, or by a span.
pub(crate) enum Later {
    To(DateTime<Utc>),
    By(Duration),
}

/// What a postpone did.
pub(crate) struct Postponed {
    pub start: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub timezone: chrono_tz::Tz,
    pub closed: u64,
    pub notices: Vec<crate::engine::immediate::Delivered>,
}

/// Moves the next occurrence that has not started (its warnings may be under way) to a later
/// start: the warnings are planned again before the new start by the daemon's own trigger
/// arithmetic, the old occurrence's claimed warnings are closed, and the notice goes out now.
/// Recorded in the audit trail as `by`'s (the command line's and the API's).
pub(crate) async fn apply_postpone(
    config: &Config,
    by: &super::audit::Actor,
    id: &str,
    later: Later,
    notice_text: Option<&str>,
) -> Result<Postponed, CliError> {
    let notice = match notice_text {
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
    let key = match later {
        Later::To(_) => "--to",
        Later::By(_) => "--by",
    };
    let store = crate::engine::wiring::open_store(config).await?;
    let (catalog, _) = super::load_catalog(config, &store).await?;
    let Some(window) = catalog.windows.iter().find(|w| w.id.as_str() == id) else {
        store.close().await;
        return Err(super::not_found(format!(
            "no maintenance window {id:?} (see `maintenance list`)"
        )));
    };
    let now = Utc::now();
    let local = |t: DateTime<Utc>| t.with_timezone(&window.timezone).to_rfc3339();
    let Some(next) = window.next_to_cancel(now) else {
        store.close().await;
        return Err(failure(format!(
            "window {id:?} has no occurrence left to postpone"
        )));
    };
    if window.is_cancelled(next.start) {
        store.close().await;
        return Err(failure(format!(
            "the next occurrence of window {id:?} ({}) is cancelled; `maintenance uncancel` it first",
            local(next.start)
        )));
    }
    let to = match later {
        Later::To(to) => to,
        Later::By(span) => plus(next.start, span),
    }
    .trunc_subsecs(0);
    let refused = if to <= next.start {
        Some(format!(
            "{} is not after the occurrence's start {}: postpone moves it later",
            local(to),
            local(next.start)
        ))
    } else {
        window
            .next_start_after(next.start)
            .filter(|f| to >= *f)
            .map(|following| {
                format!(
                    "{} reaches the following occurrence at {}; cancel this one instead",
                    local(to),
                    local(following)
                )
            })
    };
    if let Some(message) = refused {
        store.close().await;
        return Err(invalid(key, message));
    }
    let closed = store
        .postpone_window(
            id,
            (next.start, to),
            (next.first_due, next.last_due),
            notice_text,
            now,
        )
        .await?;
    store.close().await;
    super::audit::record_as(
        config,
        by,
        "window.postpone",
        id,
        format!(
            "{} → {}",
            crate::store::format_time(next.start),
            crate::store::format_time(to)
        ),
    )
    .await?;
    let notices = match &notice {
        Some(template) => {
            let text = window.render_other(template, to);
            super::maintenance::notice_deliveries(config, window, &text).await?
        }
        None => Vec::new(),
    };
    Ok(Postponed {
        start: next.start,
        to,
        timezone: window.timezone,
        closed,
        notices,
    })
}

pub(super) async fn show(config: &Config, id: &str, json: bool) -> Result<(), CliError> {
    if json {
        super::term::json_only();
    }
    let store = super::open_existing_store(config).await?;
    let (catalog, states) = super::load_catalog(config, &store).await?;
    store.close().await;
    let Some(window) = catalog.windows.iter().find(|w| w.id.as_str() == id) else {
        return Err(super::not_found(format!(
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
    let by = super::audit::Actor {
        name: super::actor(),
        note: super::audit::note(),
    };
    let n = apply_uncancel(config, &by, id).await?;
    say!("uncancelled window {id} ({n} cancellation(s) removed); its messages go out again");
    Ok(())
}

/// Removes the window's cancellations of occurrences still ahead (how many), recorded in the
/// audit trail as `by`'s.
pub(crate) async fn apply_uncancel(
    config: &Config,
    by: &super::audit::Actor,
    id: &str,
) -> Result<u64, CliError> {
    let store = crate::engine::wiring::open_store(config).await?;
    let (catalog, _) = super::load_catalog(config, &store).await?;
    if !catalog.windows.iter().any(|w| w.id.as_str() == id) {
        store.close().await;
        return Err(super::not_found(format!(
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
            let summary = format!("{n} cancellation(s) removed");
            super::audit::record_as(config, by, "window.uncancel", id, summary).await?;
            Ok(n)
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
        false => Err(super::not_found(format!(
            "no database window {id:?} (see `maintenance list`)"
        ))),
    }
}
