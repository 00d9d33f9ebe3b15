//! Which processes are alive, for deciding who may resume a `pending` delivery. Each daemon
//! (and each `send`) registers as an instance: a lock file `<database>.instances/<id>.lock` it
//! holds an exclusive `flock` on while it runs. The kernel drops the lock when the process
//! dies, even by `kill -9`, so "can I lock it?" answers "is its owner gone?" at once, with no
//! heartbeat and no timeout to wait out after a crash.

use chrono::{DateTime, Utc};
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::ownership;

/// This process's registration; dropping it removes the lock file.
#[derive(Debug)]
pub(crate) struct Instance {
    id: String,
    path: PathBuf,
    _lock: File,
}

fn directory(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".instances");
    PathBuf::from(name)
}

fn try_lock(file: &File) -> bool {
    // SAFETY: flock on a descriptor we own; no memory is shared with the kernel.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// The start of a command's instance id (`send`, a notice): the daemon counts the deliveries
/// such owners ended into its metrics.
pub(crate) const COMMAND_PREFIX: &str = "cli-";

/// A new instance id: random, then the process id, in hex; a command's starts with
/// [`COMMAND_PREFIX`].
pub(crate) fn new_id(role: &str) -> String {
    format!(
        "{}{:016x}{:08x}",
        if role == "command" {
            COMMAND_PREFIX
        } else {
            ""
        },
        RandomState::new().hash_one(std::process::id()),
        std::process::id()
    )
}

/// This host's name, for the `instances` rows people read.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Instance {
    /// `role` is written into the lock file with the process id and start time, so
    /// [`Instance::running`] can tell the service from a command.
    pub(crate) fn register(database: &Path, role: &str) -> io::Result<Instance> {
        let dir = directory(database);
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir)?;
            ownership::match_parent_owner(&dir)?;
        }
        let id = new_id(role);
        let path = dir.join(format!("{id}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)?;
        ownership::match_parent_owner(&path)?;
        if !try_lock(&lock) {
            return Err(io::Error::other(format!("cannot lock {}", path.display())));
        }
        (&lock).write_all(
            format!(
                "{role} {} {}\n",
                std::process::id(),
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            )
            .as_bytes(),
        )?;
        Ok(Instance {
            id,
            path,
            _lock: lock,
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The instances of `role` alive now: (process id, start), from their lock files. A lock
    /// file is read only up to a small size (it holds one line).
    pub(crate) fn running(database: &Path, role: &str) -> Vec<(i64, Option<DateTime<Utc>>)> {
        let Ok(entries) = std::fs::read_dir(directory(database)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten().take(10_000) {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "lock") {
                continue;
            }
            let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
                continue;
            };
            let mut line = String::new();
            if (&file).take(200).read_to_string(&mut line).is_err() {
                continue;
            }
            let mut words = line.split_whitespace();
            if words.next() != Some(role) || try_lock(&file) {
                continue;
            }
            let pid = words.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let started = words
                .next()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            out.push((pid, started));
        }
        out.sort_by_key(|(_, started)| *started);
        out
    }

    /// True while the instance `id` (registered against `database`) is running.
    pub(crate) fn is_alive(database: &Path, id: &str) -> bool {
        if id.contains(['/', '.']) {
            return false;
        }
        let path = directory(database).join(format!("{id}.lock"));
        let Ok(file) = OpenOptions::new().write(true).open(&path) else {
            return false;
        };
        if try_lock(&file) {
            let _ = std::fs::remove_file(&path);
            return false;
        }
        true
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_alive_while_registered_and_gone_after() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let me = Instance::register(&db, "daemon").unwrap();
        let id = me.id().to_owned();
        // flock is per open file: a second open in this process cannot take it either.
        assert!(Instance::is_alive(&db, &id));
        let running = Instance::running(&db, "daemon");
        assert_eq!(running.len(), 1);
        assert_eq!(running[0].0, i64::from(std::process::id()));
        assert!(Instance::running(&db, "command").is_empty());
        drop(me);
        assert!(Instance::running(&db, "daemon").is_empty());
        assert!(!Instance::is_alive(&db, &id));
        assert!(!Instance::is_alive(&db, "never-registered"));
    }
}
