//! Log output: compact without timestamps under journald (which stamps lines itself), compact
//! text with timestamps elsewhere, JSON on request. The level comes from
//! `WORKSPACE_NOTIFIER_LOG` in `EnvFilter` syntax.

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// journald-style under systemd's journal, text with timestamps elsewhere.
    Auto,
    Text,
    Json,
}

/// Installs the global subscriber. `default_level` applies when `WORKSPACE_NOTIFIER_LOG` is unset.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_env("WORKSPACE_NOTIFIER_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},sqlx=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let journald = format == LogFormat::Auto && stderr_is_journal();
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        _ if journald => builder.compact().without_time().with_ansi(false).try_init(),
        _ => builder.compact().with_ansi(false).try_init(),
    };
    // A second init (tests running several commands in one process) keeps the first.
    let _ = result;
}

/// systemd sets `JOURNAL_STREAM=dev:inode` for the stream it connected; the variable is
/// inherited by children, so it only counts if stderr is still that very stream.
pub fn stderr_is_journal() -> bool {
    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    stderr_identity().is_some_and(|(d, i)| d == dev && i == ino)
}

fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}
