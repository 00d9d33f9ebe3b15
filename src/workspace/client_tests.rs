use super::*;
use secrecy::SecretString;

fn client(endpoint: &str) -> WorkspaceClient {
    WorkspaceClient::new(
        Url::parse(endpoint).unwrap(),
        ProjectId::parse("0a1b2c3d4e5f40718293a4b5c6d7e8f9").unwrap(),
        Credentials::AkSk {
            access_key: "AK".into(),
            secret_key: SecretString::from("SK"),
            security_token: None,
        },
        Duration::from_secs(5),
    )
    .unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn a_prepared_request_keeps_the_endpoint_path_and_encodes_the_pool() {
    let pool = PoolId::parse("pool a/b").unwrap();
    for endpoint in ["https://ws.example:8443/gw", "https://ws.example:8443/gw/"] {
        let prepared = client(endpoint)
            .prepare_pool_notification(&pool, "hi", at("2026-11-28T03:00:00Z"))
            .unwrap();
        assert_eq!(
            prepared.request.url().as_str(),
            "https://ws.example:8443/gw/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/desktop-pools/pool%20a%2Fb/notifications"
        );
        let headers = prepared.request.headers();
        assert_eq!(headers["x-sdk-date"], "20261128T030000Z");
        assert_eq!(headers["host"], "ws.example:8443");
        assert!(headers["authorization"].is_sensitive());
    }
}

#[test]
fn a_prepared_request_is_fresh_for_a_minute_and_never_from_the_future() {
    let prepared = client("https://ws.example")
        .prepare_pool_notification(
            &PoolId::parse("p").unwrap(),
            "hi",
            at("2026-11-28T03:00:00Z"),
        )
        .unwrap();
    assert!(prepared.is_fresh(at("2026-11-28T03:00:00Z")));
    assert!(prepared.is_fresh(at("2026-11-28T03:01:00Z")));
    assert!(!prepared.is_fresh(at("2026-11-28T03:01:00.001Z")));
    assert!(!prepared.is_fresh(at("2026-11-28T02:59:59Z")));
}
