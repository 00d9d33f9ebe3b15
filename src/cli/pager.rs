//! Long output through a pager when stdout is a terminal, as git does: `$PAGER` (default
//! `less -FRX`, which quits at once when the output fits the screen), never when the output
//! goes to a file or a pipe, and not with `--no-pager`.

use std::io::{IsTerminal, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};

/// A running pager that reads this process's stdout; [`Pager::finish`] waits for it.
pub(super) struct Pager(Option<Child>);

/// Starts the pager when stdout is a terminal and paging is wanted.
pub(super) fn start(no_pager: bool) -> Pager {
    if no_pager || !std::io::stdout().is_terminal() {
        return Pager(None);
    }
    // Without $PAGER, `less` only where it is installed (a minimal image may lack it): a
    // pager that cannot run would end the output on a broken pipe.
    let command = match std::env::var("PAGER").ok().filter(|p| !p.trim().is_empty()) {
        Some(command) => command,
        None if on_path("less") => "less -FRX".to_owned(),
        None => return Pager(None),
    };
    if command.trim() == "cat" {
        return Pager(None);
    }
    let mut child = match Command::new("sh")
        .args(["-c", &command])
        .env(
            "LESS",
            std::env::var("LESS").unwrap_or_else(|_| "FRX".to_owned()),
        )
        .stdin(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => return Pager(None), // no pager: plain output
    };
    let Some(stdin) = child.stdin.take() else {
        return Pager(None);
    };
    // SAFETY: both descriptors are open; stdout (1) now writes into the pager's pipe, and the
    // pipe's own descriptor is closed when `stdin` drops.
    unsafe {
        libc::dup2(stdin.as_raw_fd(), 1);
    }
    drop(stdin);
    Pager(Some(child))
}

/// True when `program` is an executable file in a `$PATH` directory.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

impl Pager {
    /// Ends the output (the pager sees end of file) and waits until the user quits it.
    pub(super) fn finish(self) {
        let Some(mut child) = self.0 else {
            return;
        };
        let _ = std::io::stdout().flush();
        // SAFETY: closing stdout, which is the pipe into the pager, after the last write.
        unsafe {
            libc::close(1);
        }
        let _ = child.wait();
    }
}
