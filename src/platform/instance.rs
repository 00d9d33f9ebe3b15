//! Which processes are alive, for deciding who may resume a `pending` delivery. Each daemon
//! (and each `send`) registers as an instance: a lock file `<database>.instances/<id>.lock` it
//! holds an exclusive `flock` on while it runs. The kernel drops the lock when the process
//! dies, even by `kill -9`, so "can I lock it?" answers "is its owner gone?" at once, with no
//! heartbeat and no timeout to wait out after a crash.

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io;
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

/// A new instance id: random, then the process id, in hex.
pub(crate) fn new_id() -> String {
    format!(
        "{:016x}{:08x}",
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
    pub(crate) fn register(database: &Path) -> io::Result<Instance> {
        let dir = directory(database);
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir)?;
            ownership::match_parent_owner(&dir)?;
        }
        let id = new_id();
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
        Ok(Instance {
            id,
            path,
            _lock: lock,
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
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
        let me = Instance::register(&db).unwrap();
        let id = me.id().to_owned();
        // flock is per open file: a second open in this process cannot take it either.
        assert!(Instance::is_alive(&db, &id));
        drop(me);
        assert!(!Instance::is_alive(&db, &id));
        assert!(!Instance::is_alive(&db, "never-registered"));
    }
}
