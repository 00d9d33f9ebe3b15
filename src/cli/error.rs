//! Why a command failed, and the one place that maps that to an exit code.

use crate::config::{ConfigError, FieldError};
use crate::engine::wiring::SetupError;

use super::EXIT_CONFIG;

/// Why a command failed, and so its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid input:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Already explained on stderr/stdout; only the exit code is left to give.
    #[error("{0}")]
    Reported(String),
    /// Already reported (as JSON); the input was invalid: exit 78.
    #[error("invalid input (reported above)")]
    ReportedInvalid,
    /// What the command was to act on does not exist (exit 1; the API's 404).
    #[error("{0}")]
    NotFound(String),
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for CliError {
    fn from(err: crate::store::StoreError) -> Self {
        CliError::Failed(err.into())
    }
}

impl From<crate::engine::immediate::ImmediateError> for CliError {
    fn from(err: crate::engine::immediate::ImmediateError) -> Self {
        use crate::engine::immediate::ImmediateError;
        match err {
            ImmediateError::Setup(err) => CliError::Setup(err),
            other => CliError::Failed(other.into()),
        }
    }
}

impl From<crate::engine::daemon::DaemonError> for CliError {
    fn from(err: crate::engine::daemon::DaemonError) -> Self {
        use crate::engine::daemon::DaemonError;
        match err {
            DaemonError::Setup(err) => CliError::Setup(err),
            other => CliError::Failed(other.into()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::Failed(err.into())
    }
}

impl CliError {
    /// The errors as `{key, message}` pairs (`key` null when no single key is to blame), for
    /// `--json` output.
    pub fn as_json_errors(&self) -> Vec<serde_json::Value> {
        let pair = |key: Option<&str>, message: String| serde_json::json!({"key": key, "message": message});
        match self {
            CliError::Config(ConfigError::Invalid { errors, .. }) | CliError::Invalid(errors) => {
                errors
                    .iter()
                    .map(|e| pair(Some(&e.key), e.message.clone()))
                    .collect()
            }
            other => vec![pair(None, other.to_string())],
        }
    }

    /// The process exit code: the one place that maps errors to codes.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Invalid(_) => EXIT_CONFIG,
            CliError::Setup(SetupError::Client(_)) => 1,
            CliError::Setup(_) => EXIT_CONFIG,
            CliError::Reported(_) | CliError::Failed(_) | CliError::NotFound(_) => 1,
            CliError::ReportedInvalid => EXIT_CONFIG,
        }
    }
}

/// A failure (exit 1) explained by `message`.
pub(crate) fn failure(message: impl std::fmt::Display) -> CliError {
    CliError::Failed(anyhow::anyhow!("{message}"))
}

/// A missing object (exit 1) explained by `message`: a schedule, window, delivery or token
/// that does not exist.
pub(crate) fn not_found(message: impl std::fmt::Display) -> CliError {
    CliError::NotFound(message.to_string())
}

/// An invalid-input error (exit 78) for one argument.
pub(crate) fn invalid(key: &str, message: String) -> CliError {
    CliError::Invalid(vec![FieldError {
        key: key.to_owned(),
        message,
    }])
}
