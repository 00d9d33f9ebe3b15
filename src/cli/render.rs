//! Printing shared by several commands: maintenance windows with their upcoming messages, as
//! text and as JSON.

use chrono::{DateTime, Utc};

use crate::domain::maintenance::WindowSpec;
use crate::store::format_time;

/// The schedules' stored progress, by schedule id.
pub type States = std::collections::HashMap<String, crate::store::ScheduleState>;

/// Since when the daemon has known `window`'s end message (the anchor of that part), or
/// `now` if it has not loaded it yet: the end of a window that started before then is not
/// sent, so it is not listed either.
pub fn end_known_since(window: &WindowSpec, states: &States, now: DateTime<Utc>) -> DateTime<Utc> {
    states
        .get(window.id.derived("end").as_str())
        .map_or(now, |s| s.anchor_at)
}

/// A window with its next `occurrences` windows' messages, for list/check (text).
pub fn print_window(window: &WindowSpec, now: DateTime<Utc>, occurrences: usize, states: &States) {
    say!(
        "{} [maintenance window, {}]: {}, lasts {}, in {}, {} pool(s){}",
        window.id,
        window.source.as_str(),
        window.starts_description(),
        crate::domain::template::humanize(window.duration),
        window.timezone,
        window.pools.len(),
        if window.cancelled.all {
            " [cancelled]"
        } else {
            ""
        }
    );
    for u in window.upcoming(now, occurrences, end_known_since(window, states, now)) {
        say!(
            "  {}  ({})  {}{}: {}",
            u.due_at.with_timezone(&window.timezone).to_rfc3339(),
            format_time(u.due_at),
            u.kind.label(window),
            if u.cancelled { " [cancelled]" } else { "" },
            u.text
        );
    }
}

/// The same as JSON (WINDOW, see `json.rs`).
pub fn window_json(
    window: &WindowSpec,
    now: DateTime<Utc>,
    occurrences: usize,
    states: &States,
) -> serde_json::Value {
    let upcoming = window.upcoming(now, occurrences, end_known_since(window, states, now));
    super::json::window(window, &upcoming)
}

/// A table whose columns are as wide as their widest cell (the last one is not padded), two
/// spaces apart: long ids do not break it.
pub fn print_columns(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let last = cells.len().saturating_sub(1);
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| match i == last {
                true => c.clone(),
                false => format!("{c:<w$}"),
            })
            .collect();
        say!("{}", padded.join("  ").trim_end());
    };
    line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
}
