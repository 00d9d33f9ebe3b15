//! The Prometheus vocabulary of the service: one function per thing that is counted, so names
//! and labels are spelled once. Label values are bounded: schedule ids (and window ids) and
//! workspace names, never pool or desktop ids. Without an installed recorder (no `daemon.listen`) these do nothing.

use chrono::{DateTime, Utc};

pub(crate) const DELIVERIES: &str = "workspace_notifier_deliveries_total";
pub(crate) const ATTEMPTS: &str = "workspace_notifier_attempts_total";
pub(crate) const LATENESS: &str = "workspace_notifier_delivery_lateness_seconds";
pub(crate) const LAST_FIRE: &str = "workspace_notifier_schedule_last_fire_timestamp_seconds";
pub(crate) const NEXT_FIRE: &str = "workspace_notifier_schedule_next_fire_timestamp_seconds";
pub(crate) const LAST_SUCCESS: &str = "workspace_notifier_schedule_last_success_timestamp_seconds";
pub(crate) const PENDING: &str = "workspace_notifier_pending_deliveries";
pub(crate) const IN_FLIGHT: &str = "workspace_notifier_in_flight_requests";
pub(crate) const THROTTLED: &str = "workspace_notifier_api_throttled_total";
pub(crate) const BUILD_INFO: &str = "workspace_notifier_build_info";
pub(crate) const JOBS: &str = "workspace_notifier_jobs_total";
pub(crate) const DESKTOPS_FAILED: &str = "workspace_notifier_desktops_failed_total";
pub(crate) const AUDIENCE_REFUSED: &str = "workspace_notifier_audience_refused_total";
pub(crate) const TASKS_FOLLOWED: &str = "workspace_notifier_workspace_tasks_followed";
pub(crate) const TASKS_UNREADABLE: &str = "workspace_notifier_workspace_tasks_unreadable";
pub(crate) const TASK_POLL_FAILURES: &str = "workspace_notifier_workspace_task_poll_failures_total";
pub(crate) const TASK_WARNINGS: &str = "workspace_notifier_task_warnings_total";
pub(crate) const DATABASE_UP: &str = "workspace_notifier_database_up";
pub(crate) const API_AUTH_FAILURES: &str = "workspace_notifier_api_auth_failures_total";
pub(crate) const RELOAD_OK: &str = "workspace_notifier_config_last_reload_successful";
pub(crate) const RELOAD_AT: &str =
    "workspace_notifier_config_last_reload_success_timestamp_seconds";

/// Every metric with its `# HELP` text: what an operator reads next to the number.
const HELP: &[(&str, &str)] = &[
    (
        API_AUTH_FAILURES,
        "API requests refused, by reason: missing (no bearer token), invalid (unknown, expired or revoked), forbidden (a role too weak).",
    ),
    (
        DELIVERIES,
        "Deliveries that ended, by schedule (or window, or task warning rule), workspace and status (sent, failed, missed, coalesced, dry_run, cancelled); sent, failed and missed exist at 0 from the start.",
    ),
    (
        ATTEMPTS,
        "HTTP attempts to Workspace, by workspace and outcome (2xx, 4xx, 5xx, timeout, connect, ...).",
    ),
    (
        LATENESS,
        "Seconds from a delivery's due time to its first attempt.",
    ),
    (
        LAST_FIRE,
        "Due time (Unix seconds) of each schedule's latest occurrence, sent or not.",
    ),
    (
        NEXT_FIRE,
        "When (Unix seconds) each schedule fires next; NaN while paused or finished.",
    ),
    (
        LAST_SUCCESS,
        "Due time (Unix seconds) of each schedule's latest occurrence that was sent; survives restarts.",
    ),
    (
        PENDING,
        "Deliveries claimed and not yet ended (all instances).",
    ),
    (
        IN_FLIGHT,
        "HTTP requests to Workspace in flight now, all workspaces.",
    ),
    (
        THROTTLED,
        "Throttling answers (HTTP 429) from Workspace, by workspace.",
    ),
    (
        BUILD_INFO,
        "Always 1; the version label says which build runs.",
    ),
    (
        JOBS,
        "Notification jobs followed to their end, by workspace and result (success, partial, failed, unknown).",
    ),
    (
        DESKTOPS_FAILED,
        "Desktops whose sub-job failed, by schedule.",
    ),
    (
        AUDIENCE_REFUSED,
        "Occurrences not sent because their selectors matched more desktops than max_audience.",
    ),
    (
        TASKS_FOLLOWED,
        "Workspace scheduled tasks a [[task_warnings]] rule covers and warns of, by workspace.",
    ),
    (
        TASKS_UNREADABLE,
        "Workspace scheduled tasks a rule covers that get no warnings (time or targets cannot be read), by workspace.",
    ),
    (
        TASK_POLL_FAILURES,
        "Reads of Workspace's scheduled task list that failed, by workspace.",
    ),
    (
        TASK_WARNINGS,
        "Warnings of Workspace's tasks planned (a new or moved run) or cancelled (a run that moved or went away), by rule.",
    ),
    (
        DATABASE_UP,
        "1 when the database answered the last scrape's query, else 0.",
    ),
    (
        RELOAD_OK,
        "1 when the last configuration load (start or SIGHUP) was applied, 0 when it was refused.",
    ),
    (
        RELOAD_AT,
        "When (Unix seconds) the configuration was last loaded successfully.",
    ),
];

/// Lateness buckets, in seconds: from a few ms (normal) to minutes (downtime within grace).
pub(crate) const LATENESS_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Registers the `# HELP` text of every metric (once, when the recorder is installed).
pub(crate) fn describe_all() {
    for &(name, help) in HELP {
        if name.ends_with("_total") {
            metrics::describe_counter!(name, help);
        } else if name == LATENESS {
            metrics::describe_histogram!(name, metrics::Unit::Seconds, help);
        } else {
            metrics::describe_gauge!(name, help);
        }
    }
}

/// An API request was refused: `missing`, `invalid` or `forbidden`.
pub(crate) fn api_auth_failed(reason: &'static str) {
    metrics::counter!(API_AUTH_FAILURES, "reason" => reason).increment(1);
}

/// The configuration was loaded (`ok`) or a reload was refused.
pub(crate) fn config_loaded(ok: bool) {
    metrics::gauge!(RELOAD_OK).set(f64::from(u8::from(ok)));
    if ok {
        metrics::gauge!(RELOAD_AT).set(Utc::now().timestamp() as f64);
    }
}

/// A delivery ended with `status` (`sent`, `failed`, `missed`, `dry_run`, ...).
pub(crate) fn delivery_ended(schedule: &str, workspace: &str, status: &'static str) {
    metrics::counter!(DELIVERIES, "schedule" => schedule.to_owned(), "workspace" => workspace.to_owned(), "status" => status)
        .increment(1);
}

/// An occurrence matched more desktops than its `max_audience` and was not sent.
pub(crate) fn audience_refused(schedule: &str, workspace: &str) {
    metrics::counter!(AUDIENCE_REFUSED, "schedule" => schedule.to_owned(), "workspace" => workspace.to_owned())
        .increment(1);
}

/// After a read of `workspace`'s task list: the tasks warned of, and those a rule covers but
/// that cannot be warned of (a time that cannot be read, targets that cannot be aimed at).
pub(crate) fn tasks_followed(workspace: &str, followed: usize, unreadable: usize) {
    metrics::gauge!(TASKS_FOLLOWED, "workspace" => workspace.to_owned()).set(followed as f64);
    metrics::gauge!(TASKS_UNREADABLE, "workspace" => workspace.to_owned()).set(unreadable as f64);
}

/// `workspace`'s task list is followed: its failure counter exists from 0.
pub(crate) fn task_poll_known(workspace: &str) {
    metrics::counter!(TASK_POLL_FAILURES, "workspace" => workspace.to_owned()).increment(0);
}

/// A read of `workspace`'s task list failed (retried at the next poll).
pub(crate) fn task_poll_failed(workspace: &str) {
    metrics::counter!(TASK_POLL_FAILURES, "workspace" => workspace.to_owned()).increment(1);
}

/// Warnings of a Workspace task `planned` (a new or moved run) or `cancelled` (a run that
/// moved or went away), by rule.
pub(crate) fn task_warnings(rule: &str, event: &'static str, count: usize) {
    metrics::counter!(TASK_WARNINGS, "schedule" => rule.to_owned(), "event" => event)
        .increment(count as u64);
}

/// An HTTP attempt to `workspace` ended: `2xx`, `4xx`, `5xx`, `timeout`, `connect`, ...
pub(crate) fn attempt_ended(workspace: &str, outcome: &'static str) {
    metrics::counter!(ATTEMPTS, "workspace" => workspace.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// How late a delivery's first attempt started after its due time.
pub(crate) fn lateness(workspace: &str, seconds: f64) {
    metrics::histogram!(LATENESS, "workspace" => workspace.to_owned()).record(seconds.max(0.0));
}

pub(crate) fn next_fire(schedule: &str, at: Option<DateTime<Utc>>) {
    let gauge = metrics::gauge!(NEXT_FIRE, "schedule" => schedule.to_owned());
    match at {
        Some(t) => gauge.set(t.timestamp() as f64),
        None => gauge.set(f64::NAN),
    }
}

/// The statuses whose per-schedule counters exist from the start, at 0: an alert on
/// `increase(...) > 0` sees a schedule's first failure only if the series was there before it.
const STATUSES_AT_ZERO: [&str; 3] = ["sent", "failed", "missed"];

/// A schedule (or window) the scheduler runs: its delivery counters (and with an audience to
/// list, its refusal counter) exist from now on, at 0.
pub(crate) fn schedule_known(schedule: &str, workspace: &str, lists_audience: bool) {
    for status in STATUSES_AT_ZERO {
        metrics::counter!(DELIVERIES, "schedule" => schedule.to_owned(), "workspace" => workspace.to_owned(), "status" => status)
            .increment(0);
    }
    if lists_audience {
        metrics::counter!(AUDIENCE_REFUSED, "schedule" => schedule.to_owned(), "workspace" => workspace.to_owned())
            .increment(0);
    }
}

/// The due time of the schedule's latest occurrence (sent or not): with the next fire time, it
/// tells the schedule's interval.
pub(crate) fn last_fire(schedule: &str, at: DateTime<Utc>) {
    metrics::gauge!(LAST_FIRE, "schedule" => schedule.to_owned()).set(at.timestamp() as f64);
}

pub(crate) fn last_success(schedule: &str, at: DateTime<Utc>) {
    metrics::gauge!(LAST_SUCCESS, "schedule" => schedule.to_owned()).set(at.timestamp() as f64);
}

/// A followed job ended with `result`; `failed_desktops` did not get it.
pub(crate) fn job_ended(
    (schedule, workspace): (&str, &str),
    result: &'static str,
    failed_desktops: u64,
) {
    metrics::counter!(JOBS, "workspace" => workspace.to_owned(), "result" => result).increment(1);
    if failed_desktops > 0 {
        metrics::counter!(DESKTOPS_FAILED, "schedule" => schedule.to_owned())
            .increment(failed_desktops);
    }
}
