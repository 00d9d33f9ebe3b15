use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[test]
fn the_three_forms_of_a_next_execution_time_are_read() {
    let iana = next_run("2026-12-05 02:00:00", "Asia/Shanghai").unwrap();
    assert_eq!(iana.at, utc("2026-12-04T18:00:00Z"));
    assert_eq!(iana.zone, Some(chrono_tz::Asia::Shanghai));
    let offset_zone = next_run("2026-12-05 02:00:00", "GMT+08:00").unwrap();
    assert_eq!(offset_zone.at, utc("2026-12-04T18:00:00Z"));
    assert_eq!(offset_zone.zone, Some(chrono_tz::Etc::GMTMinus8));
    let appended = next_run("2026-12-05 02:00:00 GMT+08:00", "").unwrap();
    assert_eq!(appended.at, utc("2026-12-04T18:00:00Z"));
    // The appended offset wins over a zone that disagrees.
    let both = next_run("2026-12-05 02:00:00 GMT+05:30", "Asia/Shanghai").unwrap();
    assert_eq!(both.at, utc("2026-12-04T20:30:00Z"));
    assert_eq!(
        next_run("2026-12-05 02:00:00", "UTC").unwrap().at,
        utc("2026-12-05T02:00:00Z")
    );
    assert_eq!(
        next_run("2026-12-05 02:00:00", "GMT-05:00").unwrap().at,
        utc("2026-12-05T07:00:00Z")
    );
}

#[test]
fn a_time_that_cannot_be_read_is_refused_not_guessed() {
    for (time, zone) in [
        ("2026-12-05T02:00:00", "Asia/Shanghai"),
        ("05.12.2026 02:00", "Asia/Shanghai"),
        ("2026-12-05 02:00:00", "Mars/Olympus"),
        ("2026-12-05 02:00:00", ""),
        ("2026-12-05 02:00:00 GMT+99:00", ""),
        ("2026-12-05 02:00:00 soon", "UTC"),
        ("", "UTC"),
        // A wall time inside a DST gap, and one that happens twice.
        ("2026-03-08 02:30:00", "America/New_York"),
        ("2026-11-01 01:30:00", "America/New_York"),
    ] {
        let err = next_run(time, zone).unwrap_err();
        assert!(!err.is_empty(), "{time:?} {zone:?}");
    }
}

#[test]
fn apply_objects_become_targets_and_odd_ones_are_refused() {
    assert_eq!(
        ApplyObject::parse("DESKTOP", "d-1", "pc1").unwrap(),
        ApplyObject::Desktop("d-1".into())
    );
    assert_eq!(
        ApplyObject::parse("DESKTOP_POOL", "p-1", "").unwrap(),
        ApplyObject::Pool("p-1".into())
    );
    assert_eq!(
        ApplyObject::parse("ALL_DESKTOPS", "", "").unwrap(),
        ApplyObject::AllDesktops
    );
    assert_eq!(
        ApplyObject::parse("DESKTOP_TAG", "tag-123", "dept=finance").unwrap(),
        ApplyObject::Tag("dept".into(), "finance".into())
    );
    assert!(ApplyObject::parse("DESKTOP_TAG", "tag-123", "finance").is_err());
    assert!(ApplyObject::parse("USER", "u", "").is_err());
    assert!(ApplyObject::parse("DESKTOP", "", "").is_err());
}

fn task(task_type: &str, name: &str, scheduled_type: &str, enabled: bool) -> WorkspaceTask {
    WorkspaceTask {
        id: "t".into(),
        name: name.into(),
        task_type: task_type.into(),
        scheduled_type: scheduled_type.into(),
        enabled,
        next_execution_time: String::new(),
        time_zone: String::new(),
        objects: Vec::new(),
    }
}

#[test]
fn a_rule_covers_enabled_clock_tasks_of_its_types_and_name() {
    let filter = TaskFilter {
        task_types: DEFAULT_TASK_TYPES.map(String::from).to_vec(),
        task_name: Some("nightly*".into()),
    };
    assert!(filter.covers(&task("REBOOT", "nightly reboot", "DAY", true)));
    assert!(!filter.covers(&task("REBOOT", "weekly reboot", "DAY", true)));
    assert!(!filter.covers(&task("REBOOT", "nightly reboot", "DAY", false)));
    assert!(!filter.covers(&task("REBOOT", "nightly reboot", "LIFE_CYCLE", true)));
    assert!(!filter.covers(&task("EXECUTE_SCRIPT", "nightly script", "DAY", true)));
    assert!(!filter.covers(&task("START", "nightly start", "DAY", true)));
}

#[test]
fn globs_match_like_a_shell() {
    assert!(glob_matches("nightly*", "nightly reboot"));
    assert!(glob_matches("*reboot", "nightly reboot"));
    assert!(glob_matches("n?ght*t", "night boot"));
    assert!(glob_matches("*", ""));
    assert!(glob_matches("a*b*c", "aXbYbZc"));
    assert!(!glob_matches("nightly", "nightly reboot"));
    assert!(!glob_matches("a*b*c", "aXbYbZ"));
    assert_eq!(action("REBOOT"), "restart");
    assert_eq!(action("REBUILD"), "be rebuilt");
}
