//! The `[retry]`, `[jobs]`, `[targets]` and `[history]` sections: their validated values, and
//! bounded durations and counts, each error naming its key.

use super::fields::{self, Errors};
use super::raw;
use crate::domain::retry::RetryPolicy;
use std::time::Duration;

/// `[jobs]`: following each accepted notification to its per-desktop result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobsConfig {
    pub enabled: bool,
    /// The first ShowJob this long after the 200.
    pub first_poll: Duration,
    /// Then every this long, slowing down while the job runs long.
    pub poll_interval: Duration,
    /// No final status this long after the 200: the result is `unknown`.
    pub give_up_after: Duration,
    /// Desktop ids per SendNotifications call (and per delivery).
    pub desktop_batch: usize,
    /// After a timed-out send, look for the job it may have created before sending again.
    pub reconcile_timeouts: bool,
}

/// `[history]`: how long deliveries (with their attempts and recipients) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistoryConfig {
    /// None: for ever.
    pub keep: Option<Duration>,
}

/// `[targets]`: resolving audiences from ListDesktops ahead of each occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetsConfig {
    /// Listings start this long before the due time.
    pub resolve_ahead: Duration,
    /// A listing older than this at the due time is done again first.
    pub max_age: Duration,
    /// An occurrence matching more desktops than this is not sent (per schedule: its own).
    pub max_audience: usize,
}

pub(super) fn validate_retry(r: &raw::RawRetry, errors: &mut Errors) -> Option<RetryPolicy> {
    let max_attempts = errors.take(
        "retry.max_attempts",
        fields::bounded(r.max_attempts, 1..=100),
    );
    let initial_delay = errors.take(
        "retry.initial_delay",
        fields::bounded_duration(&r.initial_delay, fields::RETRY_DELAY),
    );
    let max_delay = errors.take(
        "retry.max_delay",
        fields::bounded_duration(&r.max_delay, fields::RETRY_DELAY),
    );
    let max_elapsed = errors.take(
        "retry.max_elapsed",
        fields::bounded_duration(&r.max_elapsed, fields::MAX_ELAPSED),
    );
    if let (Some(initial), Some(max)) = (initial_delay, max_delay)
        && initial > max
    {
        errors.push(
            "retry.initial_delay",
            format!(
                "{:?} is longer than retry.max_delay {:?}",
                r.initial_delay, r.max_delay
            ),
        );
        return None;
    }
    Some(RetryPolicy {
        max_attempts: max_attempts? as u32,
        initial_delay: initial_delay?,
        max_delay: max_delay?,
        max_elapsed: max_elapsed?,
    })
}

pub(super) fn validate_jobs(j: &raw::RawJobs, errors: &mut Errors) -> Option<JobsConfig> {
    let first_poll = errors.take(
        "jobs.first_poll",
        fields::bounded_duration(&j.first_poll, fields::JOB_POLL),
    );
    let poll_interval = errors.take(
        "jobs.poll_interval",
        fields::bounded_duration(&j.poll_interval, fields::JOB_POLL),
    );
    let give_up_after = errors.take(
        "jobs.give_up_after",
        fields::bounded_duration(&j.give_up_after, fields::JOB_GIVE_UP),
    );
    let desktop_batch = errors.take(
        "jobs.desktop_batch",
        fields::bounded(j.desktop_batch, 1..=1000),
    );
    Some(JobsConfig {
        desktop_batch: desktop_batch? as usize,
        reconcile_timeouts: j.reconcile_timeouts,
        enabled: j.enabled,
        first_poll: first_poll?,
        poll_interval: poll_interval?,
        give_up_after: give_up_after?,
    })
}

/// The most desktops `max_audience` may allow (Workspace's own quota per project is lower).
pub(super) const MAX_AUDIENCE: std::ops::RangeInclusive<i64> = 1..=100_000;

pub(super) fn validate_targets(t: &raw::RawTargets, errors: &mut Errors) -> Option<TargetsConfig> {
    let resolve_ahead = errors.take(
        "targets.resolve_ahead",
        fields::bounded_duration(&t.resolve_ahead, fields::RESOLVE_AHEAD),
    );
    let max_age = errors.take(
        "targets.max_age",
        fields::bounded_duration(&t.max_age, fields::RESOLUTION_MAX_AGE),
    );
    let max_audience = errors.take(
        "targets.max_audience",
        fields::bounded(t.max_audience, MAX_AUDIENCE),
    );
    Some(TargetsConfig {
        resolve_ahead: resolve_ahead?,
        max_age: max_age?,
        max_audience: max_audience? as usize,
    })
}

/// `[api]`: whether the console's API is served (on `daemon.listen`), how long a console
/// session lasts, and the listener's TLS files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    pub enabled: bool,
    pub session_ttl: std::time::Duration,
    /// With both files the whole listener speaks HTTPS (loaded and checked by `check` and at
    /// start; a bad file exits 78 naming its key).
    pub tls: Option<TlsFiles>,
}

/// `[api] tls_cert_file` (a PEM chain, leaf first) and `tls_key_file` (its PEM private key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

const SESSION_TTL: fields::Bounds = fields::Bounds {
    min: std::time::Duration::from_secs(300),
    max: std::time::Duration::from_secs(7 * 86_400),
};

/// A path key's value, if set and not blank.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|p| !p.is_empty())
}

/// Off by default. On: it needs `daemon.listen`, and secure by default: on an address that is
/// not loopback it needs TLS (both files), or it is refused naming `api.tls_cert_file`.
pub(super) fn validate_api(
    a: &raw::RawApi,
    listen: Option<std::net::SocketAddr>,
    errors: &mut Errors,
) -> Option<ApiConfig> {
    let session_ttl = errors.take(
        "api.session_ttl",
        fields::bounded_duration(a.session_ttl.as_deref().unwrap_or("12h"), SESSION_TTL),
    );
    let tls = match (given(&a.tls_cert_file), given(&a.tls_key_file)) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        }),
        (Some(_), None) => {
            errors.push(
                "api.tls_key_file",
                "is required with api.tls_cert_file (the certificate's private key, PEM)"
                    .to_owned(),
            );
            None
        }
        (None, Some(_)) => {
            errors.push(
                "api.tls_cert_file",
                "is required with api.tls_key_file (the certificate chain, PEM)".to_owned(),
            );
            None
        }
        (None, None) => None,
    };
    if tls.is_some() && listen.is_none() {
        errors.push(
            "api.tls_cert_file",
            "TLS is for the listener on daemon.listen, which is not set".to_owned(),
        );
    }
    let tls_given = given(&a.tls_cert_file).is_some() || given(&a.tls_key_file).is_some();
    if a.enabled {
        match listen {
            None => errors.push(
                "api.enabled",
                "the API is served on daemon.listen, which is not set (e.g. \"127.0.0.1:9464\")"
                    .to_owned(),
            ),
            Some(addr) if !addr.ip().is_loopback() && !tls_given => errors.push(
                "api.tls_cert_file",
                format!(
                    "daemon.listen {addr} is not a loopback address: the API is served there only over TLS; set api.tls_cert_file and api.tls_key_file (PEM), or listen on 127.0.0.1"
                ),
            ),
            Some(_) => {}
        }
    }
    Some(ApiConfig {
        enabled: a.enabled,
        session_ttl: session_ttl?,
        tls,
    })
}

/// The shortest and longest `[history] keep`: a day (a typo like "1m" must not empty the
/// history) to a hundred years.
const KEEP: fields::Bounds = fields::Bounds {
    min: std::time::Duration::from_secs(86_400),
    max: std::time::Duration::from_secs(100 * 365 * 86_400),
};

pub(super) fn validate_history(h: &raw::RawHistory, errors: &mut Errors) -> Option<HistoryConfig> {
    match &h.keep {
        None => Some(HistoryConfig { keep: None }),
        Some(text) => errors
            .take("history.keep", fields::bounded_duration(text, KEEP))
            .map(|keep| HistoryConfig { keep: Some(keep) }),
    }
}
