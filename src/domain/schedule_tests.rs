//! Over 400 lines on purpose: the DST and catch-up tables are spelled out case by case.
//! Tests of schedules and their triggers: DST rules, catch-up, next fires, and a property
//! against a brute-force scan.

use super::*;
use chrono::{TimeDelta, TimeZone};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn cron_spec(expr: &str, tz: Tz, grace_secs: u64) -> ScheduleSpec {
    ScheduleSpec {
        workspace: crate::domain::WorkspaceName::default_name(),
        id: ScheduleId::parse("s").unwrap(),
        record_as: ScheduleId::parse("s").unwrap(),
        trigger: Trigger::cron(expr).unwrap(),
        timezone: tz,
        pools: vec![PoolId::parse("p").unwrap()],
        desktops: Vec::new(),
        audience: Default::default(),
        resend_failed: None,
        misfire_grace: Duration::from_secs(grace_secs),
        enabled: true,
        source: Source::File,
        catch_up: CatchUpPolicy::Latest,
        content: SharedContent(Arc::new(Message {
            text: "m".to_owned(),
            misfire_grace: Duration::from_secs(grace_secs),
        })),
    }
}

fn fires(expr: &str, tz: Tz, after: &str, n: usize) -> Vec<String> {
    let spec = cron_spec(expr, tz, 0);
    let mut t = utc(after);
    let mut out = Vec::new();
    for _ in 0..n {
        t = spec.trigger.next_after(tz, t, t).unwrap();
        out.push(t.to_rfc3339());
    }
    out
}

#[test]
fn berlin_spring_forward_gap_fires_at_the_first_instant_after_it() {
    let got = fires(
        "0 30 2 * * *",
        chrono_tz::Europe::Berlin,
        "2026-03-28T12:00:00Z",
        3,
    );
    assert_eq!(
        got,
        [
            "2026-03-29T01:00:00+00:00", // 03:00 CEST, the first instant after 02:00-03:00
            "2026-03-30T00:30:00+00:00",
            "2026-03-31T00:30:00+00:00",
        ]
    );
}

#[test]
fn berlin_fall_back_repeated_time_fires_once_at_the_first_occurrence() {
    let got = fires(
        "0 30 2 * * *",
        chrono_tz::Europe::Berlin,
        "2026-10-24T12:00:00Z",
        2,
    );
    assert_eq!(
        got,
        ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
    );
}

#[test]
fn new_york_spring_forward_gap_fires_at_the_first_instant_after_it() {
    let got = fires(
        "0 30 2 * * *",
        chrono_tz::America::New_York,
        "2026-03-07T12:00:00Z",
        2,
    );
    assert_eq!(
        got,
        ["2026-03-08T07:00:00+00:00", "2026-03-09T06:30:00+00:00"]
    );
}

#[test]
fn new_york_fall_back_repeated_time_fires_once_at_the_first_occurrence() {
    let got = fires(
        "0 30 1 * * *",
        chrono_tz::America::New_York,
        "2026-10-31T12:00:00Z",
        2,
    );
    assert_eq!(
        got,
        ["2026-11-01T05:30:00+00:00", "2026-11-02T06:30:00+00:00"]
    );
}

#[test]
fn five_field_cron_fires_at_second_zero() {
    let got = fires("*/15 * * * *", chrono_tz::UTC, "2026-01-01T00:00:01Z", 2);
    assert_eq!(
        got,
        ["2026-01-01T00:15:00+00:00", "2026-01-01T00:30:00+00:00"]
    );
}

#[test]
fn every_is_anchored_at_its_start_not_at_the_question() {
    let trigger = Trigger::Every {
        period: Duration::from_secs(4 * 3600),
        start: Some(utc("2026-01-01T01:00:00Z")),
    };
    let anchor = utc("2020-01-01T00:00:00Z");
    let next = |t| trigger.next_after(chrono_tz::UTC, utc(t), anchor).unwrap();
    assert_eq!(next("2025-12-31T00:00:00Z"), utc("2026-01-01T01:00:00Z"));
    assert_eq!(next("2026-01-01T01:00:00Z"), utc("2026-01-01T05:00:00Z"));
    assert_eq!(next("2026-01-02T06:59:59Z"), utc("2026-01-02T09:00:00Z"));
}

#[test]
fn at_fires_once() {
    let trigger = Trigger::At(utc("2026-12-01T01:00:00Z"));
    let anchor = utc("2020-01-01T00:00:00Z");
    let tz = chrono_tz::UTC;
    assert_eq!(
        trigger.next_after(tz, utc("2026-11-30T00:00:00Z"), anchor),
        Some(utc("2026-12-01T01:00:00Z"))
    );
    assert_eq!(
        trigger.next_after(tz, utc("2026-12-01T01:00:00Z"), anchor),
        None
    );
}

#[test]
fn catch_up_sends_the_latest_within_grace_and_records_the_rest_once() {
    let spec = cron_spec("0 * * * * *", chrono_tz::UTC, 120);
    let plan = catch_up(
        &spec,
        utc("2026-01-01T00:00:00Z"),
        utc("2026-01-01T00:10:30Z"),
        utc("2026-01-01T00:10:30Z"),
        utc("2026-01-01T00:00:00Z"),
    );
    assert_eq!(plan.fire, vec![utc("2026-01-01T00:10:00Z")]);
    assert_eq!(
        plan.missed,
        Some(Missed {
            due_at: utc("2026-01-01T00:09:00Z"),
            count: 10,
            past_grace: 9,
            more: false
        })
    );
    assert_eq!(plan.next, Some(utc("2026-01-01T00:11:00Z")));
}

#[test]
fn catch_up_past_the_grace_sends_nothing_stale() {
    let spec = cron_spec("0 0 * * * *", chrono_tz::UTC, 300);
    let plan = catch_up(
        &spec,
        utc("2026-01-01T00:00:00Z"),
        utc("2026-01-01T05:30:00Z"),
        utc("2026-01-01T05:30:00Z"),
        utc("2026-01-01T00:00:00Z"),
    );
    assert!(plan.fire.is_empty());
    assert_eq!(
        plan.missed,
        Some(Missed {
            due_at: utc("2026-01-01T05:00:00Z"),
            count: 6,
            past_grace: 6,
            more: false
        })
    );
}

#[test]
fn catch_up_on_time_is_just_a_fire() {
    let spec = cron_spec("* * * * * *", chrono_tz::UTC, 300);
    let now = utc("2026-01-01T00:00:00.003Z");
    let plan = catch_up(&spec, utc("2026-01-01T00:00:00Z"), now, now, now);
    assert_eq!(plan.fire, vec![utc("2026-01-01T00:00:00Z")]);
    assert_eq!(plan.missed, None);
    assert_eq!(plan.next, Some(utc("2026-01-01T00:00:01Z")));
}

#[test]
fn catch_up_after_a_month_down_counts_without_walking_every_second() {
    let spec = cron_spec("* * * * * *", chrono_tz::UTC, 0);
    let second = chrono::Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
    let now = second + TimeDelta::milliseconds(500);
    let plan = catch_up(&spec, utc("2026-01-01T00:00:00Z"), now, now, now);
    let missed = plan.missed.unwrap();
    assert!(missed.more);
    assert_eq!(missed.count, MISSED_COUNT_LIMIT);
    assert_eq!(missed.due_at, second);
    assert_eq!(missed.past_grace, MISSED_COUNT_LIMIT);
    assert!(plan.fire.is_empty());
    assert_eq!(plan.next, Some(second + TimeDelta::seconds(1)));
}

#[test]
fn an_occurrence_claimed_ahead_is_on_time_even_with_zero_grace() {
    let spec = cron_spec("* * * * * *", chrono_tz::UTC, 0);
    let due = utc("2026-01-01T00:00:01Z");
    let now = due - TimeDelta::milliseconds(240);
    let horizon = now + TimeDelta::milliseconds(250);
    let plan = catch_up(&spec, due, horizon, now, now);
    assert_eq!(plan.fire, vec![due]);
    assert_eq!(plan.missed, None);
    assert_eq!(plan.next, Some(utc("2026-01-01T00:00:02Z")));
}

#[test]
fn an_interval_style_cron_keeps_its_rhythm_through_the_repeated_hour() {
    // Like Vixie cron: a job for every hour (wildcard hour) runs in both halves of the
    // repeated hour, since they are different instants; only a fixed local time fires once.
    let got = fires(
        "0 */30 * * * *",
        chrono_tz::Europe::Berlin,
        "2026-10-24T23:50:00Z",
        5,
    );
    assert_eq!(
        got,
        [
            "2026-10-25T00:00:00+00:00", // 02:00 CEST
            "2026-10-25T00:30:00+00:00", // 02:30 CEST
            "2026-10-25T01:00:00+00:00", // 02:00 CET
            "2026-10-25T01:30:00+00:00", // 02:30 CET
            "2026-10-25T02:00:00+00:00", // 03:00 CET
        ]
    );
}

#[test]
fn a_cron_that_can_never_fire_is_refused() {
    let err = Trigger::cron("0 0 30 2 *").unwrap_err();
    assert!(err.contains("never fires"), "{err}");
    assert!(Trigger::cron("0 0 29 2 *").is_ok());
}

fn with_policy(mut spec: ScheduleSpec, policy: CatchUpPolicy) -> ScheduleSpec {
    spec.catch_up = policy;
    spec
}

#[test]
fn catch_up_all_sends_every_occurrence_within_grace_oldest_first() {
    let spec = with_policy(
        cron_spec("0 * * * * *", chrono_tz::UTC, 150),
        CatchUpPolicy::All,
    );
    let now = utc("2026-01-01T00:10:30Z");
    let plan = catch_up(&spec, utc("2026-01-01T00:00:00Z"), now, now, now);
    assert_eq!(
        plan.fire,
        vec![
            utc("2026-01-01T00:08:00Z"),
            utc("2026-01-01T00:09:00Z"),
            utc("2026-01-01T00:10:00Z")
        ]
    );
    let missed = plan.missed.unwrap();
    assert_eq!(
        (missed.due_at, missed.count, missed.past_grace),
        (utc("2026-01-01T00:07:00Z"), 8, 8)
    );
}

#[test]
fn catch_up_all_is_bounded() {
    let spec = with_policy(
        cron_spec("* * * * * *", chrono_tz::UTC, 3600),
        CatchUpPolicy::All,
    );
    let now = utc("2026-01-01T00:10:00Z");
    let plan = catch_up(&spec, utc("2026-01-01T00:00:01Z"), now, now, now);
    assert_eq!(plan.fire.len(), CATCH_UP_ALL_LIMIT);
    assert_eq!(plan.fire.last(), Some(&now));
    let missed = plan.missed.unwrap();
    assert_eq!(missed.count, 600 - CATCH_UP_ALL_LIMIT as u64);
    assert_eq!(missed.past_grace, 0);
}

#[test]
fn catch_up_none_sends_nothing_late() {
    let spec = with_policy(
        cron_spec("0 * * * * *", chrono_tz::UTC, 600),
        CatchUpPolicy::None,
    );
    let now = utc("2026-01-01T00:10:06Z");
    let plan = catch_up(&spec, utc("2026-01-01T00:09:00Z"), now, now, now);
    assert!(plan.fire.is_empty());
    assert_eq!(plan.missed.unwrap().count, 2);
    let on_time = utc("2026-01-01T00:10:00.500Z");
    let plan = catch_up(
        &spec,
        utc("2026-01-01T00:10:00Z"),
        on_time,
        on_time,
        on_time,
    );
    assert_eq!(plan.fire, vec![utc("2026-01-01T00:10:00Z")]);
}

#[test]
fn catch_up_latest_counts_coalesced_occurrences_within_grace_apart() {
    // 6 s late within a 10 m grace: coalesced, not "past misfire_grace".
    let spec = cron_spec("* * * * * *", chrono_tz::UTC, 600);
    let now = utc("2026-01-01T00:00:06Z");
    let plan = catch_up(&spec, utc("2026-01-01T00:00:00Z"), now, now, now);
    assert_eq!(plan.fire, vec![now]);
    let missed = plan.missed.unwrap();
    assert_eq!((missed.count, missed.past_grace), (6, 0));
    // Users got the newer one: coalesced. Not when nothing newer went out, when some were
    // past the grace (nobody got those), or with another policy.
    assert!(missed.coalesced(CatchUpPolicy::Latest, true));
    assert!(!missed.coalesced(CatchUpPolicy::Latest, false));
    assert!(!missed.coalesced(CatchUpPolicy::All, true));
    let late = cron_spec("* * * * * *", chrono_tz::UTC, 3);
    let plan = catch_up(&late, utc("2026-01-01T00:00:00Z"), now, now, now);
    assert!(!plan.missed.unwrap().coalesced(CatchUpPolicy::Latest, true));
}

mod next_fire_property {
    //! For random cron expressions, zones and instants: the next fire is strictly after the
    //! instant, never panics, and matches a brute-force minute-by-minute scan wherever no
    //! daylight-saving change lies between them (across a change, the DST rules tested above
    //! decide instead).
    //! Tests of schedules and their triggers: DST rules, catch-up, next fires, and a property
    //! against a brute-force scan.

    use super::*;
    use proptest::prelude::*;

    const ZONES: [Tz; 6] = [
        chrono_tz::UTC,
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Shanghai,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kolkata,
    ];

    fn field(max: u32) -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_owned()),
            (2..=max / 2).prop_map(|k| format!("*/{k}")),
            (0..max).prop_map(|v| v.to_string()),
            (0..max - 1, 0..max - 1).prop_map(|(a, b)| format!("{},{}", a.min(b), a.max(b) + 1)),
            (0..max / 2).prop_map(move |a| format!("{a}-{}", a + max / 2 - 1)),
        ]
    }

    fn cron() -> impl Strategy<Value = String> {
        (
            field(60),
            field(24),
            prop_oneof![Just("*"), Just("1-5"), Just("0,6")],
        )
            .prop_map(|(m, h, dow)| format!("{m} {h} * * {dow}"))
    }

    fn offset_changes(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        use chrono::Offset;
        let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
        let mut t = from;
        while t < to {
            let next = (t + TimeDelta::hours(1)).min(to);
            if offset(next) != offset(t) {
                return true;
            }
            t = next;
        }
        offset(to) != offset(from)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn next_fire_is_after_the_instant_and_matches_a_brute_force_scan(
            expr in cron(),
            zone in 0..ZONES.len(),
            secs in 1_577_836_800i64..2_082_758_400i64, // 2020 to 2036
        ) {
            let tz = ZONES[zone];
            let spec = cron_spec(&expr, tz, 0);
            let after = DateTime::from_timestamp(secs, 0).unwrap();
            let next = spec.trigger.next_after(tz, after, after).expect("fires within days");
            prop_assert!(next > after, "{expr} in {tz}: {next} is not after {after}");
            let cron = croner::parser::CronParser::builder()
                .seconds(croner::parser::Seconds::Optional)
                .build()
                .parse(&expr)
                .unwrap();
            let mut t = after - TimeDelta::seconds(after.timestamp() % 60) + TimeDelta::minutes(1);
            let brute = loop {
                if cron.is_time_matching(&t.with_timezone(&tz)).unwrap() {
                    break t;
                }
                t += TimeDelta::minutes(1);
                prop_assert!(t < after + TimeDelta::days(8), "{expr}: no match in 8 days");
            };
            if !offset_changes(tz, after, next.max(brute)) {
                prop_assert_eq!(next, brute, "{} in {}", expr, tz);
            }
        }
    }
}

#[test]
fn next_fires_shows_an_overdue_one_shot_within_grace_as_the_daemon_sends_it() {
    let mut spec = cron_spec("0 0 9 * * *", chrono_tz::UTC, 300);
    spec.trigger = Trigger::At(utc("2026-01-01T09:00:00Z"));
    let loaded = utc("2026-01-01T08:00:00Z");
    let now = utc("2026-01-01T09:01:00Z");
    // Not fired yet, one minute late, grace 5 minutes: it goes out at once.
    assert_eq!(
        spec.next_fires(None, loaded, now, 3),
        vec![utc("2026-01-01T09:00:00Z")]
    );
    // Once handled, nothing is left.
    assert!(
        spec.next_fires(Some(utc("2026-01-01T09:00:00Z")), loaded, now, 3)
            .is_empty()
    );
    // Past its grace: the daemon records it missed, so nothing fires.
    let late = utc("2026-01-01T09:10:00Z");
    assert!(spec.next_fires(None, loaded, late, 3).is_empty());
}

#[test]
fn next_fires_after_the_last_handled_occurrence_follow_the_trigger() {
    let spec = cron_spec("0 */15 * * * *", chrono_tz::UTC, 0);
    let now = utc("2026-01-01T10:07:00Z");
    assert_eq!(
        spec.next_fires(Some(utc("2026-01-01T10:00:00Z")), now, now, 2),
        vec![utc("2026-01-01T10:15:00Z"), utc("2026-01-01T10:30:00Z")]
    );
}
