//! What an occurrence writes: one `deliveries` row per target with its rendered text, and for
//! occurrences that could not be fired, the note that says how many and why.

use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::domain::Status;
use crate::domain::schedule::{CATCH_UP_ALL_LIMIT, CatchUpPolicy, Missed, ON_TIME, ScheduleSpec};
use crate::store::{NewDelivery, ResendPolicy, format_time};

/// One row per target (each pool, each batch of desktops) for the occurrence of `spec` due at
/// `due_at`, with its rendered text.
pub(super) fn deliveries(
    spec: &ScheduleSpec,
    due_at: DateTime<Utc>,
    (max_elapsed, desktop_batch): (Duration, usize),
    status: Status,
    error_msg: Option<String>,
) -> impl Iterator<Item = NewDelivery> + '_ {
    let (message, deadline_at) = spec.content.occurrence(due_at, max_elapsed);
    // Rendered once per occurrence, shared by its targets.
    let countdown = spec.content.countdown(due_at);
    spec.targets(desktop_batch)
        .into_iter()
        .map(move |target| NewDelivery {
            schedule_id: spec.record_as.clone(),
            workspace: spec.workspace.clone(),
            target,
            parent_id: None,
            resend: spec.resend_failed.map(|r| ResendPolicy {
                left: r.attempts,
                after: r.after,
            }),
            due_at,
            deadline_at,
            message: message.clone(),
            countdown: countdown.clone(),
            status,
            error_msg: error_msg.clone(),
            may_be_cancelled: spec.content.cancellable(),
            audience: None,
        })
}

/// The `error_msg` of a missed row: how many occurrences were not sent, and why, in the
/// terms of the schedule's `misfire_grace` and `catch_up`.
pub(super) fn missed_note(
    missed: &Missed,
    first: DateTime<Utc>,
    sent: Option<DateTime<Utc>>,
    spec: &ScheduleSpec,
) -> String {
    let count = match missed.more {
        true => format!("more than {}", missed.count),
        false => missed.count.to_string(),
    };
    let grace = humantime::format_duration(spec.misfire_grace);
    let mut reasons = Vec::new();
    if missed.past_grace > 0 {
        reasons.push(format!("{} past misfire_grace {grace}", missed.past_grace));
    }
    let in_grace = missed.count.saturating_sub(missed.past_grace);
    if in_grace > 0 {
        reasons.push(match (spec.catch_up, sent) {
            (CatchUpPolicy::None, _) => format!(
                "{in_grace} late by more than {} (catch_up = \"none\" sends nothing late)",
                humantime::format_duration(ON_TIME)
            ),
            (CatchUpPolicy::All, _) => format!(
                "{in_grace} within misfire_grace beyond the catch_up = \"all\" limit of {CATCH_UP_ALL_LIMIT}"
            ),
            (CatchUpPolicy::Latest, Some(sent)) => format!(
                "{in_grace} within misfire_grace {grace} coalesced into the one sent for {} (catch_up = \"latest\")",
                format_time(sent)
            ),
            (CatchUpPolicy::Latest, None) => format!("{in_grace} within misfire_grace {grace}"),
        });
    }
    format!(
        "{count} occurrence(s) since {} were due while the service could not fire them; not sent: {}",
        format_time(first),
        reasons.join("; ")
    )
}
