//! Audiences listed from Workspace: ListDesktops through the real client (signed, paged,
//! paced) against the fake's estate, and the rules applied to the answer.

use crate::fake::{FakeDesktop, Reply};
use crate::helpers::*;
use workspace_notifier::domain::audience::{Audience, AudienceSpec, LeftOut, Selector, resolve};
use workspace_notifier::engine::wiring;

/// 2,500 desktops: `d0000`..; user `userN`; every 2nd tagged dept=finance, every 3rd
/// site=sz; every 5th in enterprise project ep-1; every 4th in pool-a; every 3rd connected.
pub(crate) fn estate() -> Vec<FakeDesktop> {
    (0..2500)
        .map(|i| {
            let mut tags = Vec::new();
            if i % 2 == 0 {
                tags.push(("dept".to_owned(), "finance".to_owned()));
            }
            if i % 3 == 0 {
                tags.push(("site".to_owned(), "sz".to_owned()));
            }
            FakeDesktop {
                id: format!("d{i:04}"),
                users: vec![format!("user{i}")],
                pool: (i % 4 == 0).then(|| "pool-a".to_owned()),
                connect_status: if i % 3 == 0 {
                    "CONNECTED"
                } else {
                    "DISCONNECTED"
                },
                enterprise_project: (i % 5 == 0).then(|| "ep-1".to_owned()),
                tags,
                in_maintenance_mode: false,
            }
        })
        .collect()
}

fn all(selector: &Selector) -> AudienceSpec {
    AudienceSpec {
        selector: selector.clone(),
        audience: Audience::All,
        max_audience: None,
    }
}

/// The test config's one workspace route (its client: `routes.iter().next()`).
fn routes(env: &TestEnv) -> workspace_notifier::engine::routes::Routes {
    let config = workspace_notifier::config::load(&env.write_config("")).unwrap();
    wiring::build_routes(&config, &|_| None).unwrap()
}

#[tokio::test]
async fn selectors_are_listed_page_by_page_and_intersected() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    let routes = routes(&env);
    let client = routes.iter().next().and_then(|r| r.client()).unwrap();
    // Everyone: three signed pages of at most 1,000.
    let everyone = Selector {
        all_desktops: true,
        ..Selector::default()
    };
    let listed = client.list_desktops(&everyone.query()).await.unwrap();
    assert_eq!(listed.len(), 2500);
    let requests = env.fake.desktop_requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.auth_problem.is_none()));
    assert!(
        requests[2]
            .query
            .as_deref()
            .unwrap()
            .contains("offset=2000")
    );
    // Two tags and an enterprise project: one query, intersected by the API.
    let finance_sz = Selector {
        tags: vec![
            ("dept".into(), "finance".into()),
            ("site".into(), "sz".into()),
        ],
        enterprise_project: Some("ep-1".into()),
        ..Selector::default()
    };
    let listed = client.list_desktops(&finance_sz.query()).await.unwrap();
    assert_eq!(listed.len(), (0..2500).filter(|i| i % 30 == 0).count());
    assert!(
        listed
            .iter()
            .all(|d| d.enterprise_project.as_deref() == Some("ep-1"))
    );
    // Users: the API's filter is a substring match; the resolution keeps exact names.
    let users = Selector {
        users: vec!["user1".into(), "user22".into()],
        ..Selector::default()
    };
    let listed = client.list_desktops(&users.query()).await.unwrap();
    assert!(
        listed.len() > 100,
        "user1 also matches user10, user100, ..."
    );
    let resolved = resolve(&all(&users), &[], &[], &listed);
    let ids: Vec<&str> = resolved
        .targeted
        .iter()
        .map(|d| d.desktop_id.as_str())
        .collect();
    assert_eq!(ids, ["d0001", "d0022"]);
    // Connected only, with pool-a a static target: its desktops are the pool's.
    let listed = client.list_desktops(&finance_sz.query()).await.unwrap();
    let resolved = resolve(&all(&finance_sz), &["pool-a".into()], &[], &listed);
    assert!(
        resolved
            .left_out
            .iter()
            .all(|(d, why)| { *why == LeftOut::InPool && d.pool_id.as_deref() == Some("pool-a") })
    );
    assert!(resolved.targeted.iter().all(|d| d.pool_id.is_none()));
    assert_eq!(resolved.matched(), listed.len());
}

#[tokio::test]
async fn a_failed_listing_is_an_error_not_an_empty_audience() {
    let env = TestEnv::new().await;
    env.fake.set_estate(estate());
    env.fake.script_desktop_lists([
        Reply::error(500, "WKS.0500"),
        Reply::Raw200("<html>gateway</html>"),
    ]);
    let routes = routes(&env);
    let client = routes.iter().next().and_then(|r| r.client()).unwrap();
    let everyone = Selector {
        all_desktops: true,
        ..Selector::default()
    };
    let err = client.list_desktops(&everyone.query()).await.unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    let err = client.list_desktops(&everyone.query()).await.unwrap_err();
    assert!(err.to_string().contains("ListDesktops answered"), "{err}");
    // Then it recovers.
    assert_eq!(
        client.list_desktops(&everyone.query()).await.unwrap().len(),
        2500
    );
}
