//! Printing shared by several commands: maintenance windows with their upcoming messages, as
//! text and as JSON.

use chrono::{DateTime, Utc};

use crate::domain::maintenance::WindowSpec;
use crate::store::format_time;

/// The schedules' stored progress, by schedule id.
pub(super) type States = std::collections::HashMap<String, crate::store::ScheduleState>;

/// Since when the daemon has known `window`'s end message (the anchor of that part), or
/// `now` if it has not loaded it yet: the end of a window that started before then is not
/// sent, so it is not listed either.
pub(super) fn end_known_since(
    window: &WindowSpec,
    states: &States,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    states
        .get(window.id.derived("end").as_str())
        .map_or(now, |s| s.anchor_at)
}

/// A window with its next `occurrences` windows' messages, for list/check (text).
pub(super) fn print_window(
    window: &WindowSpec,
    now: DateTime<Utc>,
    occurrences: usize,
    states: &States,
) {
    let audience = window.audience.describe();
    say!(
        "{} [maintenance window, {}]: {}, lasts {}, in {}, {} pool(s){}{}{}",
        window.id,
        window.source.as_str(),
        window.starts_description(),
        crate::domain::template::humanize(window.duration),
        window.timezone,
        window.pools.len(),
        match audience.is_empty() {
            true => String::new(),
            false => format!(", to {audience}"),
        },
        if window.maintenance_mode {
            ", desktops in maintenance mode from start to end"
        } else {
            ""
        },
        match (window.cancelled.all, window.paused) {
            (true, _) => " [cancelled]",
            (false, true) => " [paused]",
            (false, false) => "",
        }
    );
    for u in window.upcoming(now, occurrences, end_known_since(window, states, now)) {
        say!(
            "  {}  ({})  {}{}: {}",
            super::times::zoned(u.due_at, super::times::Natural::Zone(window.timezone))
                .to_rfc3339(),
            format_time(u.due_at),
            u.kind.label(window),
            if u.cancelled { " [cancelled]" } else { "" },
            u.text
        );
    }
}

/// The same as JSON (WINDOW, see `json.rs`).
pub(crate) fn window_json(
    window: &WindowSpec,
    now: DateTime<Utc>,
    occurrences: usize,
    states: &States,
) -> serde_json::Value {
    let upcoming = window.upcoming(now, occurrences, end_known_since(window, states, now));
    super::json::window(window, &upcoming)
}

/// A table whose columns are as wide as their widest cell (the last one is not padded), two
/// spaces apart: long ids do not break it. Widths are display widths (`unicode-width`), so a
/// column of Chinese user names (two columns per character) lines up too.
pub(super) fn print_columns(header: &[&str], rows: &[Vec<String>]) {
    print_indented("", header, rows);
}

/// [`print_columns`], each line starting with `indent`.
pub(super) fn print_indented(indent: &str, header: &[&str], rows: &[Vec<String>]) {
    for line in table_lines(indent, header, rows) {
        say!("{line}");
    }
}

/// The lines of such a table.
fn table_lines(indent: &str, header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let widths = widths(header, rows.iter().map(|r| r.iter().map(String::as_str)));
    std::iter::once(line(indent, header.iter().copied(), &widths))
        .chain(
            rows.iter()
                .map(|row| line(indent, row.iter().map(String::as_str), &widths)),
        )
        .collect()
}

/// Each column's width: its widest cell's display width.
fn widths<'a, R: Iterator<Item = &'a str>>(
    header: &[&str],
    rows: impl Iterator<Item = R>,
) -> Vec<usize> {
    use unicode_width::UnicodeWidthStr;
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    widths
}

/// One line: each cell padded to its column's width but the last.
fn line<'a>(indent: &str, cells: impl Iterator<Item = &'a str>, widths: &[usize]) -> String {
    use unicode_width::UnicodeWidthStr;
    let cells: Vec<&str> = cells.collect();
    let last = cells.len().saturating_sub(1);
    let mut out = String::from(indent);
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            out.push_str("  ");
        }
        out.push_str(cell);
        if i != last {
            out.extend(std::iter::repeat_n(' ', w.saturating_sub(cell.width())));
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// Separates the cells of a packed row (see [`print_packed`]); never inside a cell.
pub(super) const CELL: char = '\u{1f}';

/// A table of many rows kept compactly, each row its cells joined by [`CELL`] (a cell holding
/// one is cut there by the caller): `history --limit 200000` holds about its output's size.
pub(super) fn print_packed(header: &[&str], rows: &[Box<str>]) {
    let widths = widths(header, rows.iter().map(|r| r.split(CELL)));
    say!("{}", line("", header.iter().copied(), &widths));
    for row in rows {
        say!("{}", line("", row.split(CELL), &widths));
    }
}

#[cfg(test)]
mod tests {
    use super::table_lines;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn columns_line_up_by_display_width_with_cjk_names() {
        let rows = vec![
            vec!["张三丰".to_owned(), "desk-1".to_owned(), "ok".to_owned()],
            vec![
                "alice".to_owned(),
                "desk-22".to_owned(),
                "failed".to_owned(),
            ],
        ];
        let lines = table_lines("  ", &["USER", "DESKTOP", "STATUS"], &rows);
        // The DESKTOP column starts at the same display column on every line.
        let column = |line: &str, cell: &str| line[..line.find(cell).unwrap()].width();
        assert_eq!(column(&lines[0], "DESKTOP"), column(&lines[1], "desk-1"));
        assert_eq!(column(&lines[0], "DESKTOP"), column(&lines[2], "desk-22"));
        assert_eq!(column(&lines[1], "desk-1"), 2 + 6 + 2, "{lines:?}");
    }
}
