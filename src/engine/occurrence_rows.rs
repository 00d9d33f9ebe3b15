//! What an occurrence writes: one `deliveries` row per target with its rendered text, and for
//! occurrences that could not be fired, the note that says how many and why.

use chrono::{DateTime, Utc};
use std::time::Duration;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::domain::audience::{Audience, Desktop};
use crate::domain::job::Recipient;
use crate::domain::schedule::{CATCH_UP_ALL_LIMIT, CatchUpPolicy, Missed, ON_TIME, ScheduleSpec};
use crate::domain::{DesktopId, Status, Target};
use crate::store::{AudienceRecord, NewDelivery, ResendPolicy, format_time};

/// One row per target (each pool, each batch of desktops) for the occurrence of `spec` due at
/// `due_at`, with its rendered text. For a schedule with an audience to resolve, this is what
/// is recorded when it is not sent (missed): its static targets that need no listing, and one
/// `audience` row.
pub(super) fn deliveries(
    spec: &ScheduleSpec,
    due_at: DateTime<Utc>,
    (max_elapsed, desktop_batch): (Duration, usize),
    status: Status,
    error_msg: Option<String>,
) -> impl Iterator<Item = NewDelivery> + '_ {
    let targets = match spec.needs_listing() {
        false => spec.targets(desktop_batch),
        true => unlisted_targets(spec, desktop_batch),
    };
    rows(spec, due_at, max_elapsed, targets, status, error_msg)
}

/// The targets of a schedule whose audience could not be listed: its static ones that need no
/// listing (none under `audience = "connected"`), then one `audience` row for the rest.
fn unlisted_targets(spec: &ScheduleSpec, desktop_batch: usize) -> Vec<Target> {
    let mut targets = match spec.audience.audience {
        Audience::All => spec.targets(desktop_batch),
        Audience::Connected => Vec::new(),
    };
    targets.push(audience_target(spec));
    targets
}

/// The row that records an occurrence's resolved part when it cannot be sent.
fn audience_target(spec: &ScheduleSpec) -> Target {
    Target::Desktops {
        label: spec.content.batch_prefix().replace("desktops:", "audience"),
        ids: Vec::new(),
    }
}

/// The rows of an occurrence whose audience was listed (`listed`: the answers to
/// `spec.desktop_queries()`) or could not be (`Err`): static pools, the resolved desktops in
/// batches with what each was sent to, the guard, the empty match.
pub(super) fn resolved_deliveries(
    spec: &ScheduleSpec,
    due_at: DateTime<Utc>,
    (max_elapsed, desktop_batch): (Duration, usize),
    listed: Result<Vec<Arc<Vec<Desktop>>>, String>,
    default_max: usize,
) -> Vec<NewDelivery> {
    let selector = spec.audience.describe();
    let record = |matched: usize, targeted: usize, recipients: Vec<Recipient>| AudienceRecord {
        selector: selector.clone(),
        matched,
        targeted,
        recipients,
    };
    let listed = match listed {
        Ok(listed) => listed,
        Err(why) => {
            let mut out: Vec<NewDelivery> = deliveries(
                spec,
                due_at,
                (max_elapsed, desktop_batch),
                Status::Pending,
                None,
            )
            .collect();
            let last = out.last_mut().expect("the audience row");
            last.status = Status::Failed;
            last.error_msg = Some(format!("audience not resolved ({selector}): {why}"));
            last.audience = Some(record(0, 0, Vec::new()));
            return out;
        }
    };
    let resolution = spec.resolve_audience(listed.iter().flat_map(|l| l.iter()));
    let matched = resolution.matched();
    let max = spec.audience.limit(default_max);
    let failed = |error: String| {
        let mut row = rows(
            spec,
            due_at,
            max_elapsed,
            vec![audience_target(spec)],
            Status::Failed,
            Some(error),
        )
        .next()
        .expect("one");
        row.audience = Some(record(matched, 0, Vec::new()));
        row
    };
    if matched > max {
        tracing::error!(schedule_id = %spec.record_as, due_at = %format_time(due_at), "audience {matched} > max_audience {max} ({selector}): not sent");
        crate::platform::metrics::audience_refused(
            spec.record_as.as_str(),
            spec.workspace.as_str(),
        );
        return vec![failed(format!(
            "audience {matched} > max_audience {max} ({selector}): nothing was sent; raise max_audience if that many desktops are meant"
        ))];
    }
    let mut out = Vec::new();
    if matched == 0 && spec.audience.selector.is_set() {
        tracing::error!(schedule_id = %spec.record_as, due_at = %format_time(due_at), "no desktop matched {selector}");
        out.push(failed(format!("no desktop matched {selector}")));
    }
    let connected = spec.audience.audience == Audience::Connected;
    // Static targets sent as written, unless `connected` resolved them too.
    let mut ids: Vec<DesktopId> = match connected {
        true => Vec::new(),
        false => spec.desktops.clone(),
    };
    let names: HashMap<&str, &Desktop> = resolution
        .targeted
        .iter()
        .map(|d| (d.desktop_id.as_str(), *d))
        .collect();
    let mut seen: HashSet<DesktopId> = ids.iter().cloned().collect();
    for desktop in &resolution.targeted {
        if let Ok(id) = DesktopId::parse(&desktop.desktop_id)
            && seen.insert(id.clone())
        {
            ids.push(id);
        }
    }
    let mut targets: Vec<Target> = match connected {
        true => Vec::new(),
        false => spec.pools.iter().cloned().map(Target::Pool).collect(),
    };
    let pool_rows = targets.len();
    targets.extend(Target::desktop_batches(
        &spec.content.batch_prefix(),
        &ids,
        desktop_batch,
    ));
    let mut left_out: Vec<Recipient> = resolution
        .left_out
        .iter()
        .map(|(d, why)| recipient(d, why.as_str()))
        .collect();
    if targets.is_empty() {
        // Everybody matched was left out (none connected): recorded, not sent.
        let mut row = rows(spec, due_at, max_elapsed, vec![audience_target(spec)], Status::Cancelled, Some(format!(
            "nobody to send to: {matched} desktop(s) matched ({selector}), none connected when resolved"
        ))).next().expect("one");
        row.audience = Some(record(matched, 0, left_out));
        out.push(row);
        return out;
    }
    let mut planned: Vec<NewDelivery> =
        rows(spec, due_at, max_elapsed, targets, Status::Pending, None).collect();
    for (i, row) in planned.iter_mut().enumerate() {
        let Target::Desktops { ids, .. } = &row.target else {
            continue;
        };
        let mut recipients: Vec<Recipient> = ids
            .iter()
            .map(|id| match names.get(id.as_str()) {
                Some(d) => recipient(d, "targeted"),
                None => Recipient {
                    desktop_id: id.to_string(),
                    status: "targeted".to_owned(),
                    ..Recipient::default()
                },
            })
            .collect();
        if i == pool_rows {
            recipients.append(&mut left_out);
        }
        row.audience = Some(record(matched, ids.len(), recipients));
    }
    if !left_out.is_empty()
        && let Some(first) = planned.first_mut()
    {
        // No desktop batch: the pools reach them; the left-out go on the first pool's row.
        first.audience = Some(record(matched, 0, left_out));
    }
    out.extend(planned);
    out
}

/// A `recipients` row planned at the claim.
fn recipient(desktop: &Desktop, status: &str) -> Recipient {
    Recipient {
        desktop_id: desktop.desktop_id.clone(),
        user_name: (!desktop.users.is_empty()).then(|| desktop.users.join(", ")),
        desktop_name: Some(desktop.computer_name.clone()),
        status: status.to_owned(),
        ..Recipient::default()
    }
}

/// One row per target of the occurrence of `spec` due at `due_at`.
fn rows(
    spec: &ScheduleSpec,
    due_at: DateTime<Utc>,
    max_elapsed: Duration,
    targets: Vec<Target>,
    status: Status,
    error_msg: Option<String>,
) -> impl Iterator<Item = NewDelivery> + '_ {
    let (message, deadline_at) = spec.content.occurrence(due_at, max_elapsed);
    // Rendered once per occurrence, shared by its targets.
    let countdown = spec.content.countdown(due_at);
    targets.into_iter().map(move |target| NewDelivery {
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
        workspace_task: spec.content.workspace_task().map(str::to_owned),
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
