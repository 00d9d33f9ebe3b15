use super::*;
use crate::config::{Defaults, Errors, RawWindow, validate_window};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn window(start_or_cron: (&str, &str), tz: &str) -> Arc<WindowSpec> {
    let raw = RawWindow {
        id: "patch".into(),
        start: (start_or_cron.0 == "start").then(|| start_or_cron.1.to_owned()),
        cron: (start_or_cron.0 == "cron").then(|| start_or_cron.1.to_owned()),
        duration: "90m".into(),
        notify_before: vec!["5m".into(), "1h".into(), "15m".into()],
        timezone: Some(tz.into()),
        pools: vec!["p".into()],
        message: "Restart at {start} ({time_left} left, {minutes_left} min)".into(),
        start_message: None,
        end_message: Some("Done at {end}".into()),
        misfire_grace: None,
        ..RawWindow::default()
    };
    let mut errors = Errors::default();
    let key = |name: &str| name.to_owned();
    let spec = validate_window(
        &raw,
        &key,
        &Defaults::one(chrono_tz::UTC),
        Source::File,
        &mut errors,
    )
    .unwrap();
    assert!(errors.is_empty());
    Arc::new(spec)
}

#[test]
fn a_window_an_hour_ahead_gives_three_warnings_at_the_right_instants_and_texts() {
    let w = window(("start", "2026-12-05T22:00:00+08:00"), "Asia/Shanghai");
    let now = utc("2026-12-05T12:59:00Z");
    let max_elapsed = Duration::from_secs(1800);
    let mut got = Vec::new();
    for part in w.parts() {
        let due = part.trigger.next_after(part.timezone, now, now).unwrap();
        let (text, deadline) = part.content.occurrence(due, max_elapsed);
        got.push((part.record_as.to_string(), due, text, deadline));
    }
    got.sort_by_key(|g| g.1);
    let expect = [
        (
            "2026-12-05T13:00:00Z",
            "Restart at 22:00 (1 hour left, 60 min)",
            "2026-12-05T13:45:00Z",
        ),
        (
            "2026-12-05T13:45:00Z",
            "Restart at 22:00 (15 minutes left, 15 min)",
            "2026-12-05T13:55:00Z",
        ),
        (
            "2026-12-05T13:55:00Z",
            "Restart at 22:00 (5 minutes left, 5 min)",
            "2026-12-05T14:00:00Z",
        ),
        (
            "2026-12-05T15:30:00Z",
            "Done at 23:30",
            "2026-12-05T16:00:00Z",
        ),
    ];
    assert_eq!(got.len(), expect.len());
    for ((id, due, text, deadline), (e_due, e_text, e_deadline)) in got.iter().zip(expect) {
        assert_eq!(id, "patch", "deliveries are recorded under the window id");
        assert_eq!(
            (*due, text.as_str(), *deadline),
            (utc(e_due), e_text, utc(e_deadline))
        );
    }
}

#[test]
fn a_recurring_window_keeps_its_local_start_across_dst() {
    // Saturday 22:00 in Berlin: CEST (UTC+2) before 25 October 2026, CET (UTC+1) after.
    let w = window(("cron", "0 0 22 * * Sat"), "Europe/Berlin");
    let upcoming = w.upcoming(utc("2026-10-20T00:00:00Z"), 2, utc("2026-10-20T00:00:00Z"));
    let starts: Vec<_> = upcoming.iter().map(|u| u.window_start).collect();
    assert!(starts.contains(&utc("2026-10-24T20:00:00Z")), "{starts:?}");
    assert!(starts.contains(&utc("2026-10-31T21:00:00Z")), "{starts:?}");
    let hour_warnings: Vec<_> = upcoming
        .iter()
        .filter(|u| u.kind == PartKind::Warning(0))
        .collect();
    assert_eq!(hour_warnings[0].due_at, utc("2026-10-24T19:00:00Z"));
    assert_eq!(hour_warnings[1].due_at, utc("2026-10-31T20:00:00Z"));
    assert!(
        hour_warnings
            .iter()
            .all(|u| u.text.starts_with("Restart at 22:00"))
    );
}

#[test]
fn a_cancelled_occurrence_is_marked_and_others_are_not() {
    let w = window(("cron", "0 0 22 * * Sat"), "UTC");
    let mut spec = (*w).clone();
    spec.cancelled.starts.insert(utc("2026-10-24T22:00:00Z"));
    let spec = Arc::new(spec);
    let parts = spec.parts();
    assert!(parts[0].content.is_cancelled(utc("2026-10-24T21:00:00Z")));
    assert!(!parts[0].content.is_cancelled(utc("2026-10-31T21:00:00Z")));
}

#[test]
fn template_errors_name_the_window_and_the_variable() {
    let raw = RawWindow {
        id: "w1".into(),
        start: Some("2026-12-05T22:00:00+08:00".into()),
        duration: "1h".into(),
        notify_before: vec!["10m".into()],
        pools: vec!["p".into()],
        message: "in {minutes} minutes".into(),
        end_message: Some("done {".into()),
        ..RawWindow::default()
    };
    let mut errors = Errors::default();
    let key = |name: &str| format!("maintenance_windows[0].{name}");
    assert!(
        validate_window(
            &raw,
            &key,
            &Defaults::one(chrono_tz::UTC),
            Source::File,
            &mut errors
        )
        .is_none()
    );
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains(r#"maintenance_windows[0].message: window "w1": unknown variable {minutes}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"maintenance_windows[0].end_message: window "w1": unbalanced brace"#),
        "{text}"
    );
}

#[test]
fn a_postponed_occurrence_moves_its_warnings_and_leaves_the_others_alone() {
    let mut spec = (*window(("cron", "0 0 22 * * *"), "Asia/Shanghai")).clone();
    let tonight = utc("2026-12-05T14:00:00Z");
    let later = utc("2026-12-05T15:30:00Z");
    spec.starts = Trigger::Moved {
        base: Box::new(spec.starts.clone()),
        moves: [(tonight, later)].into(),
    };
    let w = Arc::new(spec);
    let now = utc("2026-12-05T10:00:00Z");
    assert_eq!(w.next_start_after(now), Some(later));
    assert_eq!(w.next_start_after(later), Some(utc("2026-12-06T14:00:00Z")));
    // The one-hour warning: 23:30 - 1h tonight, then tomorrow's as before.
    let warning = w
        .parts()
        .into_iter()
        .find(|p| p.id.as_str().ends_with("warn-3600s"))
        .unwrap();
    let first = warning
        .trigger
        .next_after(warning.timezone, now, now)
        .unwrap();
    assert_eq!(first, utc("2026-12-05T14:30:00Z"));
    let (text, _) = warning.content.occurrence(first, Duration::from_secs(60));
    assert_eq!(text, "Restart at 23:30 (1 hour left, 60 min)");
    assert_eq!(
        warning.trigger.next_after(warning.timezone, first, now),
        Some(utc("2026-12-06T13:00:00Z"))
    );
    // Looking back: the moved start counts, the start it replaced does not.
    let back = |t: &str| w.starts.previous_at_or_before(w.timezone, utc(t), now);
    assert_eq!(
        back("2026-12-05T15:00:00Z"),
        Some(utc("2026-12-04T14:00:00Z"))
    );
    assert_eq!(back("2026-12-05T16:00:00Z"), Some(later));
    assert!(
        w.starts_description()
            .contains("postponed: 2026-12-05T22:00:00+08:00 → 2026-12-05T23:30:00+08:00")
    );
}
