//! Log output: compact without timestamps under journald (which stamps lines itself), compact
//! text with timestamps elsewhere, JSON on request. The level comes from
//! `WORKSPACE_NOTIFIER_LOG` in `EnvFilter` syntax.

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, format::Format};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// journald-style under systemd's journal, text with timestamps elsewhere.
    Auto,
    Text,
    Json,
}

/// Installs the global subscriber. `default_level` applies when `WORKSPACE_NOTIFIER_LOG` is unset.
pub(crate) fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_env("WORKSPACE_NOTIFIER_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},sqlx=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let journald = format == LogFormat::Auto && stderr_is_journal();
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        _ if journald => builder
            .with_ansi(false)
            .event_format(JournalPrefix(
                text_format().compact().without_time().with_target(false),
            ))
            .try_init(),
        _ => builder.compact().with_ansi(false).try_init(),
    };
    // A second init (tests running several commands in one process) keeps the first.
    let _ = result;
}

fn text_format() -> Format {
    format::format()
}

/// Prefixes each event with its syslog priority (`<3>` error ... `<7>` debug), which journald
/// reads as the entry's level (`SyslogLevelPrefix=yes`, the default).
struct JournalPrefix<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPrefix<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", syslog_priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

fn syslog_priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// systemd sets `JOURNAL_STREAM=dev:inode` for the stream it connected; the variable is
/// inherited by children, so it only counts if stderr is still that very stream.
pub(crate) fn stderr_is_journal() -> bool {
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
