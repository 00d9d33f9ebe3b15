//! How a call to Workspace can fail, and whether that is worth retrying. The retry policy asks
//! [`ApiError::is_retryable`]; nothing else in the code base keeps a list of status codes.

use std::time::Duration;

use super::credentials::CredentialsError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Workspace (or its API gateway) answered with a non-200 status.
    #[error("HTTP {status}{}: {error_msg}", .error_code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Http {
        status: u16,
        error_code: Option<String>,
        error_msg: String,
        request_id: Option<String>,
        retry_after: Option<Duration>,
    },
    /// No complete answer within `request_timeout`.
    #[error("no answer within {} (workspace.request_timeout)", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// The TCP or TLS connection could not be made.
    #[error("cannot connect to {endpoint}: {detail}")]
    Connect { endpoint: String, detail: String },
    /// The connection broke while sending or receiving.
    #[error("request failed: {0}")]
    Transport(String),
    /// A 200 whose body is not what the operation answers.
    #[error("{0}")]
    Malformed(String),
    /// Credentials could not be read (e.g. the token file vanished before a refresh).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

impl ApiError {
    /// 409 and 500 are the API's documented transient errors; 429 and 502-504 come from the
    /// gateway; timeouts and broken connections may succeed on the next try. 400, 401, 403,
    /// 404 and everything else will answer the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Http { status, .. } => matches!(status, 409 | 429 | 500 | 502 | 503 | 504),
            ApiError::Timeout(_) | ApiError::Connect { .. } | ApiError::Transport(_) => true,
            ApiError::Credentials(_) | ApiError::Malformed(_) => false,
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn error_code(&self) -> Option<&str> {
        match self {
            ApiError::Http { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Http { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The message to record: the API's `error_msg` for HTTP errors, the description otherwise.
    pub fn message(&self) -> String {
        match self {
            ApiError::Http { error_msg, .. } => error_msg.clone(),
            other => other.to_string(),
        }
    }
}

/// Why the HTTP client could not be built. The usual cause is a machine without CA
/// certificates (the `ca-certificates` package): say so, and where they were looked for.
pub(super) fn describe_build_error(err: &reqwest::Error) -> String {
    let env_file = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let env_dir = std::env::var_os("SSL_CERT_DIR").map(std::path::PathBuf::from);
    let places: Vec<std::path::PathBuf> = match (&env_file, &env_dir) {
        (None, None) => [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
            "/etc/ssl/certs",
        ]
        .iter()
        .map(std::path::PathBuf::from)
        .collect(),
        _ => env_file.into_iter().chain(env_dir).collect(),
    };
    let has_certificates = |path: &std::path::Path| match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => meta.len() > 0,
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some()),
        _ => false,
    };
    if places.iter().any(|p| has_certificates(p)) {
        return error_chain(err);
    }
    let shown: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
    format!(
        "no CA certificates found (looked in {}); install the ca-certificates package ({})",
        shown.join(", "),
        error_chain(err)
    )
}

/// The innermost causes of a reqwest error, without the URL reqwest puts first.
pub(super) fn error_chain(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> ApiError {
        ApiError::Http {
            status,
            error_code: None,
            error_msg: String::new(),
            request_id: None,
            retry_after: None,
        }
    }

    #[test]
    fn only_transient_statuses_and_network_failures_are_retryable() {
        for status in [409, 429, 500, 502, 503, 504] {
            assert!(http(status).is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 405, 413] {
            assert!(!http(status).is_retryable(), "{status}");
        }
        assert!(ApiError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(ApiError::Transport("reset".into()).is_retryable());
    }
}
