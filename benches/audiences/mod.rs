//! `audiences`: 50 schedules over 10 distinct tag selectors on a 10,000-desktop estate, due at
//! one instant, against the same 50 schedules with the same desktops as static `desktops`
//! targets, alternately (5 rounds each) in one run, in this process, on the tests' fake (which
//! filters ListDesktops like Workspace). Reports ListDesktops calls per round (target: at most
//! 10 × ⌈1,000 / 1,000⌉ = 10), p99 fire lateness of each and their ratio (target ≤ 1.10), and
//! the memory the 10,000 listed desktops take.

use chrono::{SubsecRound, TimeDelta, Utc};
use std::time::Duration;

use super::support::fake::{FakeDesktop, FakeWorkspace};
use super::{Setup, lateness_ms, pct, run_daemon};

const ESTATE: usize = 10_000;
const SELECTORS: usize = 10;
const SCHEDULES: usize = 50;

/// Desktop `i` carries `grp=g{i % 10}`: each selector matches 1,000.
fn estate() -> Vec<FakeDesktop> {
    (0..ESTATE)
        .map(|i| FakeDesktop {
            id: format!("desk-{i:05}"),
            users: vec![format!("user{i}")],
            connect_status: "CONNECTED",
            tags: vec![("grp".to_owned(), format!("g{}", i % SELECTORS))],
            ..FakeDesktop::default()
        })
        .collect()
}

/// The 50 schedules due at `due`: by selector, or by the same desktops listed statically.
fn schedules(due: &str, by_selector: bool) -> String {
    let mut out = String::new();
    for s in 0..SCHEDULES {
        let group = s % SELECTORS;
        let targets = match by_selector {
            true => format!("tags = [\"grp=g{group}\"]"),
            false => {
                let ids: Vec<String> = (0..ESTATE)
                    .filter(|i| i % SELECTORS == group)
                    .map(|i| format!("\"desk-{i:05}\""))
                    .collect();
                format!("desktops = [{}]", ids.join(","))
            }
        };
        out.push_str(&format!(
            "[[schedules]]\nid = \"a{s:02}\"\nat = \"{due}\"\n{targets}\nmessage = \"bench {s}\"\n\n"
        ));
    }
    out
}

/// One burst: p99 lateness (ms), ListDesktops calls, SendNotifications received.
async fn round(by_selector: bool) -> (f64, usize, usize) {
    let setup = Setup::with_fake(FakeWorkspace::start_modelled_on_own_thread());
    setup.fake.set_estate(estate());
    let due = (Utc::now() + TimeDelta::seconds(6)).trunc_subsecs(0);
    let config = setup.config(64, &schedules(&due.to_rfc3339(), by_selector));
    run_daemon(&config, Duration::from_secs(6 + 10)).await;
    let (late, statuses) = lateness_ms(&setup).await;
    let sent = setup.fake.received().len();
    assert_eq!(
        statuses.get("sent").copied().unwrap_or(0),
        SCHEDULES * 1000 / 100,
        "every batch of 100 sent: {statuses:?}"
    );
    (pct(&late, 0.99), setup.fake.desktop_requests().len(), sent)
}

/// The heap the listed desktops of one full listing take (each row and its strings).
async fn listing_bytes() -> (usize, usize) {
    let setup = Setup::with_fake(FakeWorkspace::start_modelled_on_own_thread());
    setup.fake.set_estate(estate());
    let config = workspace_notifier::config::load(&setup.config(8, "")).unwrap();
    let routes = workspace_notifier::engine::wiring::build_routes(&config, &|_| None).unwrap();
    let client = routes.iter().next().and_then(|r| r.client()).unwrap();
    let everyone = workspace_notifier::domain::audience::Selector {
        all_desktops: true,
        ..Default::default()
    };
    let listed = client.list_desktops(&everyone.query()).await.unwrap();
    let bytes: usize = listed
        .iter()
        .map(|d| {
            std::mem::size_of_val(d)
                + d.desktop_id.capacity()
                + d.computer_name.capacity()
                + d.connect_status.capacity()
                + d.users.iter().map(|u| u.capacity() + 24).sum::<usize>()
                + d.pool_id.as_ref().map_or(0, String::capacity)
                + d.enterprise_project.as_ref().map_or(0, String::capacity)
                + d.tags
                    .iter()
                    .map(|(k, v)| k.capacity() + v.capacity() + 48)
                    .sum::<usize>()
        })
        .sum();
    (listed.len(), bytes)
}

pub(crate) async fn run() {
    let (mut ratios, mut calls, mut statics, mut selected) = (vec![], vec![], vec![], vec![]);
    for r in 0..5 {
        let (static_p99, _, static_sent) = round(false).await;
        let (selector_p99, lists, selector_sent) = round(true).await;
        println!(
            "audiences round {r}: static p99 {static_p99:.1} ms ({static_sent} requests); selectors p99 {selector_p99:.1} ms ({selector_sent} requests, {lists} ListDesktops); ratio {:.2}",
            selector_p99 / static_p99
        );
        ratios.push(selector_p99 / static_p99);
        calls.push(lists);
        statics.push(static_p99);
        selected.push(selector_p99);
    }
    for list in [&mut ratios, &mut statics, &mut selected] {
        list.sort_by(f64::total_cmp);
    }
    println!(
        "audiences: p99 lateness selectors / static: median {:.2} (spread {:.2} to {:.2}); target <= 1.10; static p99 median {:.1} ms, selectors {:.1} ms",
        ratios[2], ratios[0], ratios[4], statics[2], selected[2]
    );
    println!(
        "audiences: ListDesktops calls per round {calls:?}; target <= {} (10 selectors x 1 page of 1,000)",
        SELECTORS
    );
    let (n, bytes) = listing_bytes().await;
    println!(
        "audiences: {n} listed desktops take {:.2} MiB ({} bytes each)",
        bytes as f64 / 1048576.0,
        bytes / n.max(1)
    );
}
