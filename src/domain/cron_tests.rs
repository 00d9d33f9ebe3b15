//! Over 400 lines on purpose: one property test and the fixed cases it was checked against.
//! The compact evaluator against croner: random expressions in the plain syntax, random zones
//! (daylight saving with 1-hour and 30-minute shifts, southern hemisphere, none), random
//! instants, half of them within three hours of a daylight-saving change; the next 100 fire
//! times must be the same instants.

use super::*;

/// A small deterministic generator (xorshift64*), so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const ZONES: [&str; 8] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Shanghai",
    "UTC",
    "America/St_Johns",
];

/// One field: `*`, a value, a range, a step, or a list of them; names sometimes.
fn random_field(rng: &mut Rng, min: u64, max: u64, names: &[&str], name_base: u64) -> String {
    let item = |rng: &mut Rng| -> String {
        let v = |rng: &mut Rng| {
            let n = min + rng.below(max - min + 1);
            match names.get((n - name_base) as usize) {
                Some(name) if n >= name_base && rng.below(4) == 0 => (*name).to_owned(),
                _ => n.to_string(),
            }
        };
        let a = min + rng.below(max - min + 1);
        let b = a + rng.below(max - a + 1);
        match rng.below(6) {
            0 | 1 => v(rng),
            2 => format!("{a}-{b}"),
            3 => format!("*/{}", 1 + rng.below(max - min + 1)),
            4 => format!("{a}-{b}/{}", 1 + rng.below(8)),
            _ => "*".to_owned(),
        }
    };
    match rng.below(10) {
        0..=3 => "*".to_owned(),
        4..=7 => item(rng),
        _ => {
            let n = 2 + rng.below(2);
            let list: Vec<String> = (0..n).map(|_| item(rng)).filter(|i| i != "*").collect();
            if list.is_empty() {
                "*".to_owned()
            } else {
                list.join(",")
            }
        }
    }
}

fn random_expression(rng: &mut Rng) -> String {
    let fixed = rng.below(3) == 0;
    let time = |rng: &mut Rng, max: u64| {
        if fixed {
            rng.below(max + 1).to_string()
        } else {
            random_field(rng, 0, max, &[], 0)
        }
    };
    let seconds = time(rng, 59);
    let minutes = time(rng, 59);
    let hours = time(rng, 23);
    let mut dom = random_field(rng, 1, 31, &[], 0);
    let months = random_field(rng, 1, 12, &MONTHS, 1);
    let mut dow = random_field(rng, 0, 7, &WEEKDAYS, 0);
    if rng.below(8) == 0 {
        // `SUN` ending a range is 7 (`SAT-SUN`, `MON-SUN/2`).
        let from = 1 + rng.below(6);
        dow = match rng.below(2) {
            0 => format!("{}-SUN", WEEKDAYS[from as usize]),
            _ => format!("{from}-SUN/{}", 1 + rng.below(3)),
        };
    }
    if rng.below(8) == 0 {
        dom = "?".to_owned();
    }
    if rng.below(8) == 0 {
        dow = "?".to_owned();
    }
    let fields = [minutes, hours, dom, months, dow].join(" ");
    match rng.below(3) {
        0 => fields,
        _ => format!("{seconds} {fields}"),
    }
}

/// An instant within three hours of a change of `tz`'s offset in the year after `from`, or
/// `from` itself for a zone without changes.
fn near_a_change(rng: &mut Rng, tz: Tz, from: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Offset;
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
    let mut t = from;
    for _ in 0..366 * 24 {
        let next = t + TimeDelta::hours(1);
        if offset(next) != offset(t) {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > TimeDelta::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset(mid) == offset(t) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let jitter = rng.below(6 * 3600) as i64 - 3 * 3600;
            return hi + TimeDelta::seconds(jitter);
        }
        t = next;
    }
    from
}

fn croner_next(cron: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&after.with_timezone(&tz), false)
        .ok()
        .map(|t| t.to_utc())
}

#[test]
fn the_compact_form_and_croner_agree_on_the_next_100_fire_times() {
    let mut rng = Rng(0x5eed_c0ff_ee00_0001);
    let (mut compared, mut near_changes, mut fixed) = (0usize, 0usize, 0usize);
    for case in 0..400 {
        let expr = random_expression(&mut rng);
        let Some(compact) = Compact::parse(&expr) else {
            panic!("case {case}: {expr:?} is plain syntax but has no compact form");
        };
        let cron = croner_parse(&expr)
            .unwrap_or_else(|e| panic!("case {case}: croner refuses {expr:?}: {e}"));
        assert_eq!(
            compact.fixed_time,
            cron.determine_job_type() == croner::JobType::FixedTime,
            "case {case}: {expr:?}: job type"
        );
        fixed += usize::from(compact.fixed_time);
        let tz: Tz = rng.pick(&ZONES).parse().unwrap();
        let base = DateTime::from_timestamp(
            1_700_000_000 + rng.below(250_000_000) as i64,
            rng.below(1_000_000_000) as u32,
        )
        .unwrap();
        let start = if rng.below(2) == 0 {
            near_changes += 1;
            near_a_change(&mut rng, tz, base)
        } else {
            base
        };
        let parsed = CronExpr::parse(&expr)
            .unwrap_or_else(|e| panic!("case {case}: {expr:?} is refused: {e}"));
        let mut fires = Vec::new();
        let mut t = start;
        for step in 0..100 {
            let ours = compact.next_after(tz, t);
            let theirs = croner_next(&cron, tz, t);
            assert_eq!(
                ours, theirs,
                "case {case}: {expr:?} in {tz} from {start} (step {step}, after {t})"
            );
            compared += 1;
            match ours {
                Some(next) => {
                    fires.push(next);
                    t = next;
                }
                None => break,
            }
        }
        // The previous-fire direction (catch-up after downtime) finds the same instants.
        for pair in fires.windows(2) {
            let (earlier, later) = (pair[0], pair[1]);
            let just_before = later - TimeDelta::milliseconds(1);
            assert_eq!(
                parsed.previous_at_or_before(tz, just_before),
                Some(earlier),
                "case {case}: {expr:?} in {tz}: previous before {later}"
            );
            assert_eq!(parsed.previous_at_or_before(tz, later), Some(later));
        }
    }
    assert!(compared > 30_000, "{compared} comparisons");
    assert!(near_changes > 100 && fixed > 50, "{near_changes} {fixed}");
}

#[test]
fn every_instant_of_daylight_saving_changes_agrees() {
    // Each second-by-second start around both changes of 2026 in Berlin and Lord Howe
    // (a 30-minute shift), for fixed-time and interval expressions that hit the changes.
    let exprs = [
        "0 30 2 * * *",
        "30 2 * * *",
        "0 0 2 * * *",
        "0 */20 * * * *",
        "15 2-3 * * *",
        "0 45 1 * * *",
        "*/7 * 2 * * *",
    ];
    let cases = [
        ("Europe/Berlin", "2026-03-29T00:30:00Z"),
        ("Europe/Berlin", "2026-10-25T00:00:00Z"),
        ("Australia/Lord_Howe", "2026-04-04T14:00:00Z"),
        ("Australia/Lord_Howe", "2026-10-03T15:00:00Z"),
    ];
    for expr in exprs {
        let compact = Compact::parse(expr).unwrap();
        let cron = croner_parse(expr).unwrap();
        for (zone, from) in cases {
            let tz: Tz = zone.parse().unwrap();
            let from: DateTime<Utc> = from.parse().unwrap();
            for s in (0..3 * 3600).step_by(37) {
                let t = from + TimeDelta::seconds(s);
                assert_eq!(
                    compact.next_after(tz, t),
                    croner_next(&cron, tz, t),
                    "{expr:?} in {zone} after {t}"
                );
            }
        }
    }
}

#[test]
fn what_the_plain_syntax_accepts_croner_accepts_alike() {
    let mut rng = Rng(7);
    let pieces = [
        "*",
        "?",
        "0",
        "5",
        "59",
        "60",
        "61",
        "7",
        "8",
        "0-5",
        "5-0",
        "*/0",
        "*/15",
        "1-31/2",
        "3/5",
        "-1",
        "1,",
        ",2",
        "1,,2",
        "+5",
        "MON",
        "JAN",
        "L",
        "5L",
        "1#2",
        "15W",
        "1-5/0",
        "SUN-SAT",
        "SAT-SUN",
        "JAN-MAR",
        "mon",
        "32",
        "12",
        "13",
        "24",
        "*/60",
        "1-2-3",
        "SUN-SUN",
        "0-SUN",
        "SUN-SUN/2",
        "MON-SUN",
        "2-SUN/2",
        "7-SUN",
        "FRI#2",
        "LW",
        "+1",
    ];
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let t: DateTime<Utc> = "2026-03-28T12:00:00Z".parse().unwrap();
    let mut accepted = 0;
    for _ in 0..5000 {
        let n = 5 + rng.below(2);
        let expr: Vec<&str> = (0..n)
            .map(|_| match rng.below(2) {
                0 => "*",
                _ => rng.pick(&pieces),
            })
            .collect();
        let expr = expr.join(" ");
        let Ok(()) = super::super::cron_check::check(&expr) else {
            continue;
        };
        // What the field check passes, croner reads; where the compact form reads it too,
        // both directions agree.
        let cron = croner_parse(&expr)
            .unwrap_or_else(|e| panic!("{expr:?}: checked but croner refuses it: {e}"));
        accepted += 1;
        let Ok(parsed) = CronExpr::parse(&expr) else {
            continue; // never fires
        };
        if let Some(compact) = parsed.compact {
            let next = compact.next_after(tz, t);
            assert_eq!(next, croner_next(&cron, tz, t), "{expr:?}");
            if let Some(next) = next {
                let later = compact.next_after(tz, next).unwrap();
                assert_eq!(
                    parsed.previous_at_or_before(tz, later - TimeDelta::milliseconds(1)),
                    Some(next),
                    "{expr:?}"
                );
            }
        }
    }
    assert!(accepted > 100, "{accepted}");
    // What only croner understands still parses, and is evaluated by croner.
    for expr in [
        "0 0 L * *",
        "0 0 * * 5L",
        "0 0 15W * *",
        "@daily",
        "0 0 0 1 1 * 2030",
    ] {
        let parsed = CronExpr::parse(expr).unwrap();
        assert!(!parsed.is_compact(), "{expr}");
        assert!(
            parsed
                .next_after(Tz::UTC, "2026-01-01T00:00:00Z".parse().unwrap())
                .is_some()
        );
    }
    assert!(CronExpr::parse("0 9 * * MON-FRI").unwrap().is_compact());
    assert!(CronExpr::parse("0 0 30 2 *").is_err());
    assert!(CronExpr::parse("0 0 29 2 *").is_ok());
}

#[test]
fn the_compact_form_is_small() {
    assert!(std::mem::size_of::<Compact>() <= 32);
    assert!(std::mem::size_of::<CronExpr>() <= 56);
}

/// The rules docs/delivery.md's "Time zones" paragraph states, checked as written there.
#[test]
fn the_documented_daylight_saving_and_day_rules_hold() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let next = |expr: &str, after: &str| {
        CronExpr::parse(expr)
            .unwrap()
            .next_after(berlin, after.parse().unwrap())
            .map(|t| t.to_rfc3339())
    };
    // Fixed time in the spring gap (02:00-03:00 local on 2026-03-29): once, at 03:00 CEST.
    assert_eq!(
        next("0 30 2 * * *", "2026-03-28T23:00:00Z").as_deref(),
        Some("2026-03-29T01:00:00+00:00")
    );
    // An interval expression skips the gap: 02:15 does not exist, next is 03:15 CEST.
    assert_eq!(
        next("15 2-3 * * *", "2026-03-28T23:00:00Z").as_deref(),
        Some("2026-03-29T01:15:00+00:00")
    );
    // `0 */30 * * * *` is every 30 minutes, through both instants of the repeated hour.
    let expr = CronExpr::parse("0 */30 * * * *").unwrap();
    let mut t: DateTime<Utc> = "2026-10-24T23:50:00Z".parse().unwrap();
    let mut fires = Vec::new();
    for _ in 0..4 {
        t = expr.next_after(berlin, t).unwrap();
        fires.push(t.with_timezone(&berlin).to_rfc3339());
    }
    assert_eq!(
        fires,
        [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:30:00+01:00"
        ]
    );
    // A fixed time in the repeated hour fires once, at its first occurrence.
    assert_eq!(
        next("0 30 2 * * *", "2026-10-24T23:00:00Z").as_deref(),
        Some("2026-10-25T00:30:00+00:00")
    );
    assert_eq!(
        next("0 30 2 * * *", "2026-10-25T00:30:00Z").as_deref(),
        Some("2026-10-26T01:30:00+00:00")
    );
    // Both day fields restricted: either matches (2026-12-03 is a Thursday, the 3rd).
    assert_eq!(
        next("0 0 */2 * MON", "2026-12-02T00:00:00Z").as_deref(),
        Some("2026-12-02T23:00:00+00:00")
    );
    // `+` before the weekday: both must match (the first Monday that is an odd day).
    assert_eq!(
        next("0 0 */2 * +MON", "2026-12-02T00:00:00Z").as_deref(),
        Some("2026-12-06T23:00:00+00:00")
    );
    // `*/2` in day-of-week counts from Sunday: Sunday, Tuesday, Thursday, Saturday.
    assert_eq!(
        next("0 0 * * */2", "2026-12-02T00:00:00Z").as_deref(),
        Some("2026-12-02T23:00:00+00:00")
    );
}
