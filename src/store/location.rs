//! Where the store lives: a SQLite file (the embedded default) or a PostgreSQL server, as
//! `daemon.database` names it, and how to connect to each.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// The database `daemon.database` names.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file; its directory must exist.
    Sqlite(PathBuf),
    /// A PostgreSQL server: `postgres://user@host:port/dbname?sslmode=...`, without a password.
    Postgres(Postgres),
}

/// How to reach PostgreSQL. The URL never holds the password: it comes from
/// `password_file`, the systemd credential `database_password`, `$PGPASSWORD` or `~/.pgpass`.
#[derive(Clone, PartialEq, Eq)]
pub struct Postgres {
    pub url: reqwest::Url,
    pub password_file: Option<PathBuf>,
    pub pool: PoolSettings,
}

/// `daemon.database_pool_size` and `daemon.database_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// Longest wait for a connection (a new one, or a free one from the pool).
    pub timeout: Duration,
}

/// The systemd credential read when `database_password_file` is not set.
pub(super) const PASSWORD_CREDENTIAL: &str = "database_password";

impl Database {
    /// Reads `daemon.database`: a `postgres://` or `postgresql://` URL, else a file path.
    pub fn parse(
        text: &str,
        password_file: Option<PathBuf>,
        pool: PoolSettings,
    ) -> Result<Database, String> {
        let lower = text.to_ascii_lowercase();
        if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
            if text.is_empty() {
                return Err("must not be empty".to_owned());
            }
            return Ok(Database::Sqlite(PathBuf::from(text)));
        }
        let url = reqwest::Url::parse(text)
            .map_err(|e| format!("{:?} is not a valid PostgreSQL URL: {e}", redact(text)))?;
        if url.password().is_some() || url.query_pairs().any(|(key, _)| is_secret_key(&key)) {
            return Err(format!(
                "{:?}: the URL holds a password; the config file is readable by every local user, so put the password in daemon.database_password_file, the systemd credential {PASSWORD_CREDENTIAL}, $PGPASSWORD or ~/.pgpass instead",
                redact(text)
            ));
        }
        if url.host_str().is_none_or(str::is_empty) && !url.query_pairs().any(|(k, _)| k == "host")
        {
            return Err(format!("{text:?} names no host"));
        }
        Ok(Database::Postgres(Postgres {
            url,
            password_file,
            pool,
        }))
    }

    /// The SQLite file, if the store is one.
    fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }

    /// The SQLite file, if the store is one and it does not exist yet (a read-only command
    /// never creates it). A PostgreSQL database is taken to exist: connecting tells.
    pub fn missing_file(&self) -> Option<&Path> {
        self.sqlite_path().filter(|path| !path.exists())
    }

    /// Why the SQLite file cannot be created where it is configured, if it cannot (see
    /// `open::missing_directory`); None for PostgreSQL.
    pub fn missing_directory(&self) -> Option<String> {
        super::open::missing_directory(self.sqlite_path()?)
    }

    /// Two SQLite paths that name one file, however spelled (`./`, absolute, a symlink, a
    /// hard link): the same device and inode.
    pub fn is_same_file(&self, other: &Database) -> bool {
        use std::os::unix::fs::MetadataExt;
        let (Some(a), Some(b)) = (self.sqlite_path(), other.sqlite_path()) else {
            return false;
        };
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
}

/// A query parameter that carries a password (`password`, `sslpassword`, in any case; the
/// key is compared once percent-decoded).
fn is_secret_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// The URL with any password (user info or query parameter) replaced, for error messages.
pub(crate) fn redact(text: &str) -> String {
    if !text.contains("://") {
        return text.to_owned(); // a file path
    }
    match reqwest::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("REDACTED"));
            }
            if url.query_pairs().any(|(key, _)| is_secret_key(&key)) {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| match is_secret_key(&k) {
                        true => (k.into_owned(), "REDACTED".to_owned()),
                        false => (k.into_owned(), v.into_owned()),
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
            }
            url.to_string()
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

/// The path, or the URL (which holds no password).
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(pg) => write!(f, "{}", pg.url),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({self})")
    }
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("url", &self.url.as_str())
            .field("password_file", &self.password_file)
            .field("pool", &self.pool)
            .finish()
    }
}

impl Postgres {
    /// The file the password is read from: `password_file`, else the systemd credential when
    /// there is one. None: sqlx reads `$PGPASSWORD` and `~/.pgpass` itself, as libpq does.
    pub(super) fn password_source(&self) -> Option<PathBuf> {
        let from_credential = std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(|dir| PathBuf::from(dir).join(PASSWORD_CREDENTIAL))
            .filter(|p| p.exists());
        self.password_file.clone().or(from_credential)
    }

    /// The URL to connect with: the configured one, plus the password from
    /// [`Postgres::password_source`] when there is one.
    pub(super) fn connect_url(&self) -> Result<SecretString, String> {
        let Some(file) = self.password_source() else {
            return Ok(SecretString::from(self.url.to_string()));
        };
        let password = crate::platform::secret_file::read(&file)
            .map_err(|err| format!("database password: {err}"))?;
        if self.url.cannot_be_a_base() || self.url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{} cannot carry a password", self.url));
        }
        Ok(with_password(self.url.as_str(), password.expose_secret()))
    }
}

/// `url` with `:password@` after its user name, the password percent-encoded, written once
/// into a buffer of the exact final size: no intermediate copy of the password is left in
/// freed memory (sqlx keeps its own copy for reconnecting, which this cannot clear).
fn with_password(url: &str, password: &str) -> SecretString {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    let encoded_len: usize = password
        .bytes()
        .map(|b| if unreserved(b) { 1 } else { 3 })
        .sum();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let at = url[after_scheme..].find('@').map(|i| after_scheme + i);
    let insert_at = at.unwrap_or(after_scheme);
    let extra = 1 + encoded_len + usize::from(at.is_none());
    let mut out = String::with_capacity(url.len() + extra);
    out.push_str(&url[..insert_at]);
    out.push(':');
    for b in password.bytes() {
        if unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    if at.is_none() {
        out.push('@');
    }
    out.push_str(&url[insert_at..]);
    debug_assert_eq!(out.len(), out.capacity());
    SecretString::from(out)
}

/// The file path as a `sqlite://` URL for sqlx's Any driver: every byte outside a safe set
/// is percent-encoded, so `%`, `?`, `#` and spaces in a path survive the round trip.
pub(super) fn sqlite_url(path: &Path) -> String {
    use std::fmt::Write;
    let mut url = String::from("sqlite://");
    for &byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' | b'~' => {
                url.push(byte as char)
            }
            _ => {
                let _ = write!(url, "%{byte:02X}");
            }
        }
    }
    url.push_str("?mode=rwc");
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: PoolSettings = PoolSettings {
        max_connections: 4,
        timeout: Duration::from_secs(5),
    };

    #[test]
    fn a_path_is_sqlite_and_a_url_is_postgres() {
        assert_eq!(
            Database::parse("/var/lib/x/state.db", None, POOL).unwrap(),
            Database::Sqlite("/var/lib/x/state.db".into())
        );
        let pg = Database::parse(
            "postgres://notifier@db.internal:5432/notifier?sslmode=verify-full",
            None,
            POOL,
        )
        .unwrap();
        assert!(matches!(pg, Database::Postgres(_)));
        assert_eq!(
            pg.to_string(),
            "postgres://notifier@db.internal:5432/notifier?sslmode=verify-full"
        );
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_being_repeated() {
        let err = Database::parse("postgres://u:hunter2@db/x", None, POOL).unwrap_err();
        assert!(err.contains("password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        for url in [
            "postgres://u@db/x?password=hunter2",
            "postgres://u@db/x?sslmode=require&PassWord=hunter2",
            "postgres://u@db/x?%70assword=hunter2",
            "postgresql://u@db/x?sslpassword=hunter2",
        ] {
            let err = Database::parse(url, None, POOL).unwrap_err();
            assert!(err.contains("holds a password"), "{url}: {err}");
            assert!(!err.contains("hunter2"), "{url}: {err}");
        }
        assert!(Database::parse("postgres:///x", None, POOL).is_err());
        assert!(Database::parse("", None, POOL).is_err());
    }

    #[test]
    fn the_password_file_goes_into_the_connect_url_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cr3t/@:\n").unwrap();
        let Database::Postgres(pg) =
            Database::parse("postgres://u@db:5432/x", Some(file), POOL).unwrap()
        else {
            panic!()
        };
        let url = pg.connect_url().unwrap();
        let parsed = reqwest::Url::parse(url.expose_secret()).unwrap();
        assert_eq!(parsed.password(), Some("s3cr3t%2F%40%3A"));
        assert_eq!(parsed.username(), "u");
        assert_eq!(parsed.host_str(), Some("db"));
        assert!(!format!("{pg:?}").contains("s3cr3t"));
        // Without a user name, and with odd bytes: what Url itself would write.
        for (base, pw) in [
            ("postgres://db/x?sslmode=require", "p ä#?"),
            ("postgresql://us%20er@[::1]:5433/x", "~a-b_c.d"),
        ] {
            let mut expected = reqwest::Url::parse(base).unwrap();
            expected.set_password(Some(pw)).unwrap();
            let ours = with_password(base, pw);
            assert_eq!(
                reqwest::Url::parse(ours.expose_secret()).unwrap(),
                expected,
                "{base}"
            );
        }
        // A literal `%` is encoded too (Url leaves it, and the driver would then decode it).
        let ours = with_password("postgres://u@db/x", "50%off");
        assert_eq!(ours.expose_secret(), "postgres://u:50%25off@db/x");
    }

    #[test]
    fn odd_paths_survive_the_url() {
        let url = sqlite_url(Path::new("/tmp/a b/%41?#x.db"));
        assert_eq!(url, "sqlite:///tmp/a%20b/%2541%3F%23x.db?mode=rwc");
    }
}
