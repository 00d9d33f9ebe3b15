//! Where the AK/SK (or IAM token) comes from, in the order docs/configuration.md documents; first hit wins. Secrets are
//! held in `secrecy` types and never formatted: `Debug` is redacted, errors name files and
//! variables, never contents.

use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::platform::secret_file::{self, SecretFileError};

/// `[workspace.credentials]`: file paths only, never secrets themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialPaths {
    pub access_key_file: Option<PathBuf>,
    pub secret_key_file: Option<PathBuf>,
    pub security_token_file: Option<PathBuf>,
    pub token_file: Option<PathBuf>,
    /// The config file's directory, where the packaged unit's `LoadCredential=` reads `ak`
    /// and `sk` (or `ak.cred`, `sk.cred` encrypted with `systemd-creds`): the last place
    /// looked, so that root's commands on the host find what the service is given.
    pub service_dir: Option<PathBuf>,
    /// The workspace's name when it is not `default` (one of several `[[workspaces]]`): its
    /// systemd credentials and service files are `ak.NAME`, `sk.NAME`, `security_token.NAME`,
    /// and the environment and the SDK profile (one account each) are not looked at.
    pub workspace: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No place in the lookup chain had credentials.
    #[error("{}no Workspace credentials found; tried, in order:\n  {}", .workspace.as_deref().map(|w| format!("workspace {w:?}: ")).unwrap_or_default(), .tried.join("\n  "))]
    NotFound {
        workspace: Option<String>,
        tried: Vec<String>,
    },
    /// A file that was named (or found) could not be read.
    #[error("cannot read credential file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file was read but holds nothing.
    #[error("credential file {} is empty", .path.display())]
    Empty { path: PathBuf },
    /// One half of a pair was found without the other.
    #[error("{place} has {found} but not {missing}")]
    Incomplete {
        place: String,
        found: &'static str,
        missing: &'static str,
    },
}

/// How requests are authenticated.
pub enum Credentials {
    /// AK/SK signing, with a security token for temporary credentials.
    AkSk {
        access_key: String,
        secret_key: SecretString,
        security_token: Option<SecretString>,
    },
    /// An IAM token sent as `X-Auth-Token`, re-read from its file after a 401.
    Token {
        path: PathBuf,
        token: RwLock<SecretString>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::AkSk { security_token, .. } => f
                .debug_struct("AkSk")
                .field("secret_key", &"[redacted]")
                .field("temporary", &security_token.is_some())
                .finish_non_exhaustive(),
            Credentials::Token { path, .. } => f
                .debug_struct("Token")
                .field("path", path)
                .field("token", &"[redacted]")
                .finish(),
        }
    }
}

impl Credentials {
    /// Re-reads the IAM token file. Returns false for AK/SK, which has nothing to refresh.
    pub fn refresh_token(&self) -> Result<bool, CredentialsError> {
        match self {
            Credentials::AkSk { .. } => Ok(false),
            Credentials::Token { path, token } => {
                let fresh = read_secret(path)?;
                *token.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                Ok(true)
            }
        }
    }

    pub fn is_token(&self) -> bool {
        matches!(self, Credentials::Token { .. })
    }

    /// The current IAM token, for the `X-Auth-Token` header only.
    pub(crate) fn token_value(&self) -> Option<zeroize::Zeroizing<String>> {
        match self {
            Credentials::Token { token, .. } => Some(
                token
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .expose_secret()
                    .to_owned()
                    .into(),
            ),
            Credentials::AkSk { .. } => None,
        }
    }
}

/// What the lookup found, with where, a project id if the place had one, and warnings about
/// file permissions for the caller to log.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub credentials: Credentials,
    pub source: String,
    pub project_id: Option<String>,
    pub warnings: Vec<String>,
}

/// Walks the chain: config paths, `$CREDENTIALS_DIRECTORY`, `HUAWEICLOUD_SDK_*` variables, the
/// SDK profile file. `env` reads a variable (injected so tests need not touch the process env).
pub(crate) fn resolve(
    paths: &CredentialPaths,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, CredentialsError> {
    let mut tried = Vec::new();
    let mut warnings = Vec::new();
    let suffix = paths
        .workspace
        .as_deref()
        .map(|name| format!(".{name}"))
        .unwrap_or_default();
    let mut found = from_config(paths, &mut tried, &mut warnings)?;
    if found.is_none() {
        found = from_credentials_directory(env, &suffix, &mut tried, &mut warnings)?;
    }
    let default = paths.workspace.is_none();
    if found.is_none() && default {
        found = from_env(env, &mut tried);
    }
    if found.is_none() && default {
        found = super::profile::from_profile(env, &mut tried, &mut warnings)?;
    }
    if found.is_none() {
        found = from_service_files(paths, &suffix, &mut tried, &mut warnings)?;
    }
    let (credentials, source, project_id) = found.ok_or(CredentialsError::NotFound {
        workspace: paths.workspace.clone(),
        tried,
    })?;
    let env_project = || default.then(|| env("HUAWEICLOUD_SDK_PROJECT_ID")).flatten();
    Ok(Resolved {
        credentials,
        source,
        project_id: project_id.or_else(env_project),
        warnings,
    })
}

pub(super) type Found = Option<(Credentials, String, Option<String>)>;

fn from_config(
    paths: &CredentialPaths,
    tried: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Found, CredentialsError> {
    let section = match &paths.workspace {
        Some(name) => format!("[workspaces.credentials] of workspace {name:?}"),
        None => "[workspace.credentials]".to_owned(),
    };
    tried.push(format!(
        "{section} access_key_file/secret_key_file or token_file in the config"
    ));
    if let Some(path) = &paths.token_file {
        let token = read_checked(path, warnings)?;
        let credentials = Credentials::Token {
            path: path.clone(),
            token: RwLock::new(token),
        };
        return Ok(Some((
            credentials,
            format!("token_file {}", path.display()),
            None,
        )));
    }
    let (Some(ak_path), Some(sk_path)) = (&paths.access_key_file, &paths.secret_key_file) else {
        return Ok(None);
    };
    let access_key = read_checked(ak_path, warnings)?.expose_secret().to_owned();
    let secret_key = read_checked(sk_path, warnings)?;
    let security_token = match &paths.security_token_file {
        Some(path) => Some(read_checked(path, warnings)?),
        None => None,
    };
    let credentials = Credentials::AkSk {
        access_key,
        secret_key,
        security_token,
    };
    Ok(Some((credentials, "config file paths".to_owned(), None)))
}

fn from_credentials_directory(
    env: &dyn Fn(&str) -> Option<String>,
    suffix: &str,
    tried: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Found, CredentialsError> {
    let Some(dir) = env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) else {
        tried.push("systemd credentials: $CREDENTIALS_DIRECTORY is not set".to_owned());
        return Ok(None);
    };
    let dir = PathBuf::from(dir);
    tried.push(format!(
        "systemd credentials: files ak{suffix}, sk{suffix} in {}",
        dir.display()
    ));
    let place = format!("$CREDENTIALS_DIRECTORY ({})", dir.display());
    from_directory(&dir, suffix, place, warnings, read_checked)
}

/// `ak`, `sk` and optionally `security_token` in `dir` (each name followed by `suffix`), each
/// read with `read`.
fn from_directory(
    dir: &Path,
    suffix: &str,
    place: String,
    warnings: &mut Vec<String>,
    read: fn(&Path, &mut Vec<String>) -> Result<SecretString, CredentialsError>,
) -> Result<Found, CredentialsError> {
    let file = |name: &str| dir.join(format!("{name}{suffix}"));
    let (ak, sk, token) = (file("ak"), file("sk"), file("security_token"));
    match (ak.exists(), sk.exists()) {
        (false, false) => return Ok(None),
        (true, false) => return Err(incomplete(place, "ak", "sk")),
        (false, true) => return Err(incomplete(place, "sk", "ak")),
        (true, true) => {}
    }
    let credentials = Credentials::AkSk {
        access_key: read(&ak, warnings)?.expose_secret().to_owned(),
        secret_key: read(&sk, warnings)?,
        security_token: match token.exists() {
            true => Some(read(&token, warnings)?),
            false => None,
        },
    };
    Ok(Some((credentials, place, None)))
}

/// The files the packaged unit loads as credentials, next to the config file: plain (`ak`,
/// readable by root) or encrypted (`ak.cred`, decrypted with `systemd-creds decrypt`).
fn from_service_files(
    paths: &CredentialPaths,
    suffix: &str,
    tried: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Found, CredentialsError> {
    let Some(dir) = paths.service_dir.as_deref() else {
        return Ok(None);
    };
    tried.push(format!(
        "the service's credential files: ak{suffix}, sk{suffix} (or ak{suffix}.cred, sk{suffix}.cred) in {}",
        dir.display()
    ));
    if dir.join(format!("ak{suffix}.cred")).exists()
        || dir.join(format!("sk{suffix}.cred")).exists()
    {
        let place = format!("systemd-creds encrypted files in {}", dir.display());
        return from_directory(dir, &format!("{suffix}.cred"), place, warnings, decrypt);
    }
    let place = format!("the service's files in {}", dir.display());
    from_directory(dir, suffix, place, warnings, read_checked)
}

/// Decrypts `DIR/NAME.cred` with `systemd-creds decrypt`, as the unit's
/// `LoadCredentialEncrypted=NAME:DIR/NAME.cred` would.
fn decrypt(file: &Path, _: &mut Vec<String>) -> Result<SecretString, CredentialsError> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".cred"))
        .unwrap_or_default();
    let file = file.to_owned();
    let failed = |problem: String| CredentialsError::Read {
        path: file.clone(),
        source: std::io::Error::other(problem),
    };
    let out = std::process::Command::new("systemd-creds")
        .args(["decrypt", &format!("--name={name}")])
        .arg(&file)
        .arg("-")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| failed(format!("cannot run systemd-creds: {e}")))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(failed(format!(
            "systemd-creds decrypt failed (run as root on the host that encrypted it): {why}"
        )));
    }
    // The decrypted bytes are cleared from memory once the trimmed copy is taken.
    let bytes = zeroize::Zeroizing::new(out.stdout);
    let text = std::str::from_utf8(&bytes).map_err(|_| failed("not UTF-8 text".to_owned()))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CredentialsError::Empty { path: file });
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

fn from_env(env: &dyn Fn(&str) -> Option<String>, tried: &mut Vec<String>) -> Found {
    tried.push("environment: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK".to_owned());
    let get = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (ak, sk) = (get("HUAWEICLOUD_SDK_AK")?, get("HUAWEICLOUD_SDK_SK")?);
    let credentials = Credentials::AkSk {
        access_key: ak,
        secret_key: SecretString::from(sk),
        security_token: get("HUAWEICLOUD_SDK_SECURITY_TOKEN").map(SecretString::from),
    };
    Some((
        credentials,
        "HUAWEICLOUD_SDK_* environment variables".to_owned(),
        None,
    ))
}

pub(super) fn incomplete(
    place: String,
    found: &'static str,
    missing: &'static str,
) -> CredentialsError {
    CredentialsError::Incomplete {
        place,
        found,
        missing,
    }
}

/// Reads a secret file and warns (through `warnings`) when group or others may read it.
pub(super) fn read_checked(
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<SecretString, CredentialsError> {
    warnings.extend(secret_file::loose_permissions(path));
    read_secret(path)
}

fn read_secret(path: &Path) -> Result<SecretString, CredentialsError> {
    secret_file::read(path).map_err(|err| match err {
        SecretFileError::Read { path, source } => CredentialsError::Read { path, source },
        SecretFileError::Empty { path } => CredentialsError::Empty { path },
    })
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
