//! One attempt's end, in the terms the rest needs: what the retry decision sees
//! ([`attempt_end`]), what is recorded ([`attempt_record`]) and what is logged ([`log_sent`]).

use chrono::{DateTime, Utc};

use crate::domain::Status;
use crate::domain::retry::{AttemptEnd, Decision, GiveUp};
use crate::store::{AttemptRecord, Claimed, format_time};
use crate::workspace::{Accepted, ApiError, WorkspaceClient};

pub(super) fn attempt_end(
    result: &Result<Accepted, ApiError>,
    client: &WorkspaceClient,
    token_refreshed: bool,
) -> AttemptEnd {
    match result {
        Ok(_) => AttemptEnd::Accepted,
        Err(err)
            if err.http_status() == Some(401)
                && client.credentials().is_token()
                && !token_refreshed =>
        {
            AttemptEnd::TokenExpired
        }
        Err(err) if err.is_retryable() => AttemptEnd::Retryable {
            retry_after: err.retry_after(),
        },
        Err(_) => AttemptEnd::Permanent,
    }
}

pub(super) fn attempt_record(
    d: &Claimed,
    attempt: u32,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    result: &Result<Accepted, ApiError>,
    decision: Decision,
) -> AttemptRecord {
    let mut record = AttemptRecord {
        delivery_id: d.id,
        attempt,
        started_at,
        finished_at,
        http_status: None,
        error_code: None,
        error_msg: None,
        request_id: None,
        job_id: None,
        status: Status::Pending,
        delivery_error: None,
        job_poll_at: None,
        message: None,
    };
    match result {
        Ok(accepted) => {
            record.http_status = Some(200);
            record.request_id = accepted.request_id.clone();
            record.job_id = accepted.job_id.clone();
            record.error_msg = accepted.malformed.clone();
        }
        Err(err) => {
            record.http_status = err.http_status();
            record.error_code = err.error_code().map(str::to_owned);
            record.error_msg = Some(err.message());
            record.request_id = err.request_id().map(str::to_owned);
        }
    }
    let last = || record.error_msg.clone().unwrap_or_default();
    (record.status, record.delivery_error) = match decision {
        Decision::Sent => (Status::Sent, None),
        Decision::Retry { .. } => (Status::Pending, None),
        Decision::Failed(GiveUp::Permanent) => (Status::Failed, None),
        Decision::Failed(GiveUp::AttemptsExhausted) => (
            Status::Failed,
            Some(format!(
                "gave up after {attempt} attempts (retry.max_attempts): {}",
                last()
            )),
        ),
        Decision::Failed(GiveUp::Deadline) => (
            Status::Failed,
            Some(format!(
                "gave up after {attempt} attempts: the next retry would start after the deadline {}: {}",
                format_time(d.deadline_at),
                last()
            )),
        ),
    };
    record
}

/// Logs an accepted send; returns its `job_id`.
pub(super) fn log_sent(attempts: u32, result: &Result<Accepted, ApiError>) -> Option<String> {
    let accepted = result.as_ref().ok();
    let job_id = accepted.and_then(|a| a.job_id.clone());
    match accepted.and_then(|a| a.malformed.as_deref()) {
        Some(problem) => tracing::warn!(
            attempts,
            status = "sent",
            job_id = "",
            problem,
            "sent, but the answer had no usable job_id"
        ),
        None => tracing::debug!(
            attempts,
            status = "sent",
            job_id = job_id.as_deref().unwrap_or(""),
            "delivery sent"
        ),
    }
    job_id
}

/// The `outcome` label of an attempt: the HTTP status class, or what kept it from one.
pub(super) fn attempt_outcome(result: &Result<Accepted, ApiError>) -> &'static str {
    match result {
        Ok(_) => "2xx",
        Err(err) => match err {
            ApiError::Http { status, .. } => match status {
                300..=399 => "3xx",
                400..=499 => "4xx",
                500..=599 => "5xx",
                _ => "other",
            },
            ApiError::Timeout(_) => "timeout",
            ApiError::Connect { .. } => "connect",
            ApiError::Transport(_) => "transport",
            ApiError::Credentials(_) => "credentials",
            ApiError::Malformed(_) => "malformed",
        },
    }
}
