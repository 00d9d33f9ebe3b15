//! Files a command run as root creates in the service's state directory take the owner of
//! that directory, so the service (a `DynamicUser=` account) can still write them.
//!
//! Without this, `sudo workspace-notifier send …` on a host whose service has never run
//! `send` before leaves a root-owned `state.db.instances/` the service cannot create its lock
//! file in, and a root-owned `state.db` it cannot write. SQLite already gives its `-wal` and
//! `-shm` files the owner of the database file when it runs as root, so the database file
//! and the instance registry are the only ones to handle here.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Gives `path` the owner and group of its parent directory, when this process is root and
/// the directory belongs to someone else. A no-op for everyone else: an ordinary user's
/// files are already theirs.
pub(crate) fn match_parent_owner(path: &Path) -> io::Result<()> {
    if !running_as_root() {
        return Ok(());
    }
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let parent = std::fs::metadata(dir)?;
    if parent.uid() == 0 {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(parent.uid()), Some(parent.gid()))
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and touches no memory of ours.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_created_file_takes_the_directory_owner() {
        if !running_as_root() {
            eprintln!("skipped: needs root to create a file for another owner");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(61_234), Some(61_235)).unwrap();
        let file = dir.path().join("state.db");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().uid(), 0);
        match_parent_owner(&file).unwrap();
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (61_234, 61_235));
    }
}
