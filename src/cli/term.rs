//! What the command line prints for people passes through [`safe`]: text that came from a
//! config, the database or Workspace (a message, a user name, an error) may hold terminal
//! control sequences that would retitle, recolour or clear the operator's terminal. `--json`
//! output needs nothing more: JSON escapes control characters itself.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

static JSON_ONLY: AtomicBool = AtomicBool::new(false);

/// For `--json` on a command that also reports in words (`send`, `resend`, `maintenance
/// cancel`): stdout carries the JSON document alone; errors still go to stderr.
pub(crate) fn json_only() {
    JSON_ONLY.store(true, Ordering::Relaxed);
}

/// False once [`json_only`] was called.
pub(crate) fn words_on_stdout() -> bool {
    !JSON_ONLY.load(Ordering::Relaxed)
}

static SERVING: AtomicBool = AtomicBool::new(false);

/// For `run`: this process is the daemon, whose log already reports what the config and the
/// stored schedules get wrong; the console's requests, which share the commands' code, must
/// not repeat those warnings on stderr for every request.
pub(crate) fn serving() {
    SERVING.store(true, Ordering::Relaxed);
}

/// False in the daemon (see [`serving`]).
pub(crate) fn warnings_on_stderr() -> bool {
    !SERVING.load(Ordering::Relaxed)
}

/// `text` with every control character but newline and tab shown escaped (`\u{1b}`).
pub(crate) fn safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match unsafe_char(c) {
            true => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            false => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `println!` for people: the formatted line passes through [`safe`].
macro_rules! say {
    () => {
        if $crate::cli::term::words_on_stdout() {
            println!()
        }
    };
    ($($arg:tt)*) => {
        if $crate::cli::term::words_on_stdout() {
            println!("{}", $crate::cli::term::safe(&format!($($arg)*)))
        }
    };
}

/// `eprintln!` for people: the formatted line passes through [`safe`].
macro_rules! tell {
    () => { eprintln!() };
    ($($arg:tt)*) => { eprintln!("{}", $crate::cli::term::safe(&format!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn control_sequences_are_shown_not_obeyed() {
        assert_eq!(
            safe("Restart\u{1b}]0;pwned\u{7}\u{1b}[2J now\r"),
            "Restart\\u{1b}]0;pwned\\u{7}\\u{1b}[2J now\\u{d}"
        );
        assert_eq!(safe("two\nlines\tok"), "two\nlines\tok");
        assert_eq!(safe("\u{9b}31m"), "\\u{9b}31m");
    }
}
