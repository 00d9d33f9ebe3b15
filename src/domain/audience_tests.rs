//! Tests of audiences: exact users, pools and named desktops, `connected`, the queries, tag
//! limits, the record text.

use super::*;

fn desktop(id: &str, users: &[&str], pool: Option<&str>, status: &str) -> Desktop {
    Desktop {
        desktop_id: id.to_owned(),
        computer_name: format!("pc-{id}"),
        users: users.iter().map(|u| u.to_string()).collect(),
        pool_id: pool.map(str::to_owned),
        connect_status: status.to_owned(),
        in_maintenance_mode: false,
        enterprise_project: None,
        tags: Vec::new(),
    }
}

fn spec(selector: Selector, audience: Audience) -> AudienceSpec {
    AudienceSpec {
        selector,
        audience,
        max_audience: None,
    }
}

#[test]
fn connected_lists_static_targets_too_and_selectors_alone_otherwise() {
    let tags = Selector {
        tags: vec![("dept".into(), "it".into())],
        ..Selector::default()
    };
    let pools = ["p1".to_owned()];
    let desktops: Vec<String> = (0..150).map(|i| format!("d{i}")).collect();
    let all = spec(tags.clone(), Audience::All);
    assert_eq!(all.queries(&pools, &desktops), [tags.query()]);
    assert!(all.needs_listing(true));
    let connected = spec(Selector::default(), Audience::Connected);
    let queries = connected.queries(&pools, &desktops);
    assert_eq!(queries.len(), 3, "one for the pools, two of 100 and 50 ids");
    assert_eq!(queries[0].pool_ids, ["p1"]);
    assert_eq!(queries[2].desktop_ids.len(), 50);
    assert!(connected.needs_listing(true));
    assert!(!connected.needs_listing(false));
    assert!(!spec(Selector::default(), Audience::All).needs_listing(true));
}

#[test]
fn a_desktop_named_by_id_is_not_filtered_by_users() {
    let selector = Selector {
        users: vec!["alice".into()],
        ..Selector::default()
    };
    let listed = vec![
        desktop("d1", &["zed"], None, "CONNECTED"),
        desktop("d2", &["alice"], None, "DISCONNECTED"),
    ];
    let r = resolve(
        &spec(selector, Audience::Connected),
        &[],
        &["d1".into()],
        &listed,
    );
    assert_eq!(ids(&r.targeted), ["d1"]);
    assert_eq!(r.left_out[0].1, LeftOut::NotConnected);
}

fn ids<'a>(desktops: &[&'a Desktop]) -> Vec<&'a str> {
    desktops.iter().map(|d| d.desktop_id.as_str()).collect()
}

#[test]
fn users_are_matched_exactly_although_the_api_matches_substrings() {
    let selector = Selector {
        users: vec!["alice".into(), "bob".into()],
        ..Selector::default()
    };
    let listed = vec![
        desktop("d1", &["alice"], None, "CONNECTED"),
        desktop("d2", &["alice2"], None, "CONNECTED"),
        desktop("d3", &["malice", "bob"], None, "CONNECTED"),
        desktop("d4", &["Alice"], None, "CONNECTED"),
    ];
    let r = resolve(&spec(selector, Audience::All), &[], &[], &listed);
    assert_eq!(ids(&r.targeted), ["d1", "d3"]);
    assert!(r.left_out.is_empty());
}

#[test]
fn a_desktop_of_a_static_pool_is_not_sent_to_again_by_id_and_none_twice() {
    let selector = Selector {
        tags: vec![("dept".into(), "finance".into())],
        ..Selector::default()
    };
    let listed = vec![
        desktop("d1", &[], Some("pool-a"), "CONNECTED"),
        desktop("d2", &[], Some("pool-b"), "DISCONNECTED"),
        desktop("d2", &[], Some("pool-b"), "DISCONNECTED"),
        desktop("d3", &[], None, "UNREGISTER"),
    ];
    let r = resolve(
        &spec(selector, Audience::All),
        &["pool-a".into()],
        &[],
        &listed,
    );
    assert_eq!(ids(&r.targeted), ["d2", "d3"]);
    assert_eq!(r.left_out.len(), 1);
    assert_eq!(
        (r.left_out[0].0.desktop_id.as_str(), r.left_out[0].1),
        ("d1", LeftOut::InPool)
    );
    assert_eq!(r.matched(), 3);
}

#[test]
fn connected_only_sends_to_connected_desktops_and_resolves_pools_too() {
    let selector = Selector {
        all_desktops: true,
        ..Selector::default()
    };
    let listed = vec![
        desktop("d1", &[], Some("pool-a"), "CONNECTED"),
        desktop("d2", &[], Some("pool-a"), "REGISTERED"),
        desktop("d3", &[], None, "CONNECTED"),
        desktop("d4", &[], None, "DISCONNECTED"),
    ];
    let r = resolve(
        &spec(selector, Audience::Connected),
        &["pool-a".into()],
        &[],
        &listed,
    );
    assert_eq!(ids(&r.targeted), ["d1", "d3"]);
    let left: Vec<(&str, &str)> = r
        .left_out
        .iter()
        .map(|(d, why)| (d.desktop_id.as_str(), why.as_str()))
        .collect();
    assert_eq!(left, [("d2", "not_connected"), ("d4", "not_connected")]);
}

#[test]
fn tags_are_checked_against_workspaces_limits() {
    assert_eq!(
        parse_tag("dept=finance"),
        Ok(("dept".into(), "finance".into()))
    );
    assert_eq!(parse_tag("vip="), Ok(("vip".into(), String::new())));
    assert_eq!(parse_tag("a=b=c"), Ok(("a".into(), "b=c".into())));
    assert!(parse_tag("dept").unwrap_err().contains("is not KEY=VALUE"));
    assert!(parse_tag("=x").unwrap_err().contains("empty key"));
    let long_key = format!("{}=v", "k".repeat(129));
    assert!(parse_tag(&long_key).unwrap_err().contains("128 characters"));
    let long_value = format!("k={}", "v".repeat(44));
    assert!(
        parse_tag(&long_value)
            .unwrap_err()
            .contains("43 characters")
    );
    assert!(
        parse_tag(&format!("k={}", "值".repeat(43))).is_ok(),
        "characters, not bytes"
    );
}

#[test]
fn the_selector_is_described_for_records() {
    let selector = Selector {
        tags: vec![("dept".into(), "finance".into())],
        users: vec!["alice".into()],
        ..Selector::default()
    };
    assert_eq!(
        selector.describe(Audience::Connected),
        "tags=dept=finance;users=alice;audience=connected"
    );
    assert!(!Selector::default().is_set());
}
