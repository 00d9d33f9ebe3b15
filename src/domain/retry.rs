//! The retry decision: given how an attempt ended, retry after a delay or stop with a final
//! status. Pure: the clock reading, the deadline and the next backoff step are inputs, so the
//! whole table is tested without sleeping. Which errors are retryable is answered by the API
//! error type itself (`ApiError::is_retryable`); this module only applies the bounds.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// `[retry]` from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// A delivery's default deadline is `due_at + max_elapsed`.
    pub max_elapsed: Duration,
}

impl RetryPolicy {
    /// Delays between attempts: exponential from `initial_delay`, capped at `max_delay`, with
    /// jitter so that many deliveries failing together do not retry in lockstep.
    pub fn backoff(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

/// How an attempt ended, reduced to what the decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptEnd {
    /// The API answered 200.
    Accepted,
    /// Failed in a way worth retrying (409, 429, 5xx, timeout, connection).
    Retryable { retry_after: Option<Duration> },
    /// A 401 for an IAM token that has not been refreshed yet: refresh, then try once more.
    TokenExpired,
    /// Failed for good (400, 401, 403, 404, ...).
    Permanent,
}

/// Why a delivery stopped without being accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GiveUp {
    Permanent,
    AttemptsExhausted,
    /// The next attempt would start after the delivery's deadline.
    Deadline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Sent,
    Retry {
        after: Duration,
        refresh_token: bool,
    },
    Failed(GiveUp),
}

/// Decides what follows attempt number `attempt` (1-based) that ended as `end` at `now`.
/// `backoff` is the next step of [`RetryPolicy::backoff`].
pub(crate) fn decide(
    end: AttemptEnd,
    attempt: u32,
    policy: &RetryPolicy,
    backoff: Duration,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Decision {
    let (after, refresh_token) = match end {
        AttemptEnd::Accepted => return Decision::Sent,
        AttemptEnd::Permanent => return Decision::Failed(GiveUp::Permanent),
        AttemptEnd::TokenExpired => (Duration::ZERO, true),
        AttemptEnd::Retryable { retry_after } => {
            (retry_after.unwrap_or(backoff).min(policy.max_delay), false)
        }
    };
    if attempt >= policy.max_attempts {
        return Decision::Failed(GiveUp::AttemptsExhausted);
    }
    let next_start = crate::domain::time_math::plus(now, after);
    if next_start >= deadline {
        return Decision::Failed(GiveUp::Deadline);
    }
    Decision::Retry {
        after,
        refresh_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(1800),
        }
    }

    #[test]
    fn the_decision_table_holds() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let later = now + TimeDelta::minutes(30);
        let soon = now + TimeDelta::seconds(5);
        let s = Duration::from_secs;
        let retryable = |retry_after| AttemptEnd::Retryable { retry_after };
        let retry = |secs| Decision::Retry {
            after: s(secs),
            refresh_token: false,
        };
        #[rustfmt::skip]
        let table = [
            // end,                       attempt, backoff, deadline, expected
            (AttemptEnd::Accepted,              1, s(2),  later, Decision::Sent),
            (AttemptEnd::Accepted,              3, s(2),  now,   Decision::Sent),
            (AttemptEnd::Permanent,             1, s(2),  later, Decision::Failed(GiveUp::Permanent)),
            (retryable(None),                   1, s(2),  later, retry(2)),
            (retryable(None),                   2, s(4),  later, retry(4)),
            (retryable(None),                   3, s(8),  later, Decision::Failed(GiveUp::AttemptsExhausted)),
            (retryable(Some(s(1))),             1, s(2),  later, retry(1)),
            (retryable(Some(s(3600))),          1, s(2),  later, retry(60)),
            (retryable(None),                   1, s(90), later, retry(60)),
            (retryable(None),                   1, s(5),  soon,  Decision::Failed(GiveUp::Deadline)),
            (retryable(None),                   1, s(4),  soon,  retry(4)),
            (AttemptEnd::TokenExpired,          1, s(2),  later, Decision::Retry { after: s(0), refresh_token: true }),
            (AttemptEnd::TokenExpired,          3, s(2),  later, Decision::Failed(GiveUp::AttemptsExhausted)),
        ];
        for (i, (end, attempt, backoff, deadline, expected)) in table.into_iter().enumerate() {
            let got = decide(end, attempt, &policy(), backoff, now, deadline);
            assert_eq!(got, expected, "row {i}: {end:?} attempt {attempt}");
        }
    }

    #[test]
    fn backoff_grows_and_stays_within_twice_the_cap() {
        let delays: Vec<Duration> = policy().backoff().take(10).collect();
        assert!(delays[0] >= Duration::from_secs(2) && delays[0] < Duration::from_secs(4));
        assert!(delays[3] >= Duration::from_secs(16));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(120)));
    }
}
