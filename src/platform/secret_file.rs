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

/// The longest secret file read: an AK/SK, a token or a password is far shorter; a larger
/// file is not what the key names.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// The file's text, trimmed; an empty file is an error.
pub(crate) fn read(path: &Path) -> Result<SecretString, SecretFileError> {
    use std::io::Read;
    let failed = |source| SecretFileError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let size = file.metadata().map_err(failed)?.len();
    if size > MAX_SECRET_FILE {
        return Err(failed(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{size} bytes; a secret file holds at most {MAX_SECRET_FILE}"),
        )));
    }
    // Read into a buffer sized up front, so it is never moved (a reallocation would leave the
    // old copy in freed memory); the whole text is cleared once the trimmed copy is taken.
    let mut text = zeroize::Zeroizing::new(String::with_capacity(size as usize + 1));
    file.take(MAX_SECRET_FILE)
        .read_to_string(&mut text)
        .map_err(failed)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_secret_is_trimmed_and_an_oversized_or_empty_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sk");
        std::fs::write(&file, "  s3cr3t\n").unwrap();
        assert_eq!(read(&file).unwrap().expose_secret(), "s3cr3t");
        std::fs::write(&file, "\n \n").unwrap();
        assert!(matches!(read(&file), Err(SecretFileError::Empty { .. })));
        std::fs::write(&file, vec![b'a'; 64 * 1024 + 1]).unwrap();
        let err = read(&file).unwrap_err().to_string();
        assert!(err.contains("at most 65536"), "{err}");
        assert!(!err.contains("aaaa"), "{err}");
    }
}
