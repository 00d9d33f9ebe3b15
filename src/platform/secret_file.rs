//! Reading a secret from a file (credentials, the database password): the text without
//! surrounding whitespace, an error naming the file, and a warning when group or others
//! may read it. The secret itself never appears in either.

use secrecy::SecretString;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretFileError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is empty", .path.display())]
    Empty { path: PathBuf },
}

/// The file's text, trimmed; an empty file is an error.
pub(crate) fn read(path: &Path) -> Result<SecretString, SecretFileError> {
    // The whole file, untrimmed, is cleared from memory once the trimmed copy is taken.
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
        SecretFileError::Read {
            path: path.to_owned(),
            source,
        }
    })?);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SecretFileError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

/// A warning when group or others may read the file; None otherwise (or if it is missing).
pub(crate) fn loose_permissions(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "secret file {} is readable by group or others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        )
    })
}
