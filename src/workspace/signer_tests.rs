//! The four vectors of the official SDK (docs/huawei-api.md), then our own cases whose
//! canonical requests are written out by hand from the rules.

use super::*;

const AK: &str = "HPUAEXAMPLEAK0123456";
const SK: &[u8] = b"ExampleSecretKey0123456789abcdefghijklmn";
const DATE: &str = "20240615T083000Z";
const HOST: &str = "workspace.cn-north-4.myhuaweicloud.com";
const PROJECT: &str = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";

fn check(parts: RequestParts<'_>, canonical: &str, to_sign: &str, auth: &str) {
    let built = canonical_request(&parts);
    assert_eq!(built.request, canonical);
    assert_eq!(string_to_sign(DATE, &built.request), to_sign);
    assert_eq!(authorization(&parts, AK, SK, DATE), auth);
}

#[test]
fn vector_pool_ascii_minimal() {
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Sdk-Date", DATE),
        ("Host", HOST),
    ];
    check(
        RequestParts {
            method: "POST",
            path: "/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/desktop-pools/3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f/notifications",
            query: None,
            headers: &headers,
            body: br#"{"notifications": "Maintenance at 22:00 UTC"}"#,
        },
        "POST\n/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/desktop-pools/3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f/notifications/\n\ncontent-type:application/json\nhost:workspace.cn-north-4.myhuaweicloud.com\nx-sdk-date:20240615T083000Z\n\ncontent-type;host;x-sdk-date\nf50fab098160d2a20827b8a66d60347c7fe82880d27df529eef63ce99150cbf2",
        "SDK-HMAC-SHA256\n20240615T083000Z\n0097b56ec80bb30b185b21b98032136533a72a87a6ea642852ba75c1af80f05b",
        "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0123456, SignedHeaders=content-type;host;x-sdk-date, Signature=6d7aa980bf6b0f9f29ad9d504e3baac17cafa59cfe2247834b25550c898af525",
    );
}

#[test]
fn vector_pool_with_project_id_header() {
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Sdk-Date", DATE),
        ("X-Project-Id", PROJECT),
        ("Host", HOST),
    ];
    check(
        RequestParts {
            method: "POST",
            path: "/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/desktop-pools/pool-0001/notifications",
            query: None,
            headers: &headers,
            body: br#"{"notifications": "hello"}"#,
        },
        "POST\n/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/desktop-pools/pool-0001/notifications/\n\ncontent-type:application/json\nhost:workspace.cn-north-4.myhuaweicloud.com\nx-project-id:0a1b2c3d4e5f40718293a4b5c6d7e8f9\nx-sdk-date:20240615T083000Z\n\ncontent-type;host;x-project-id;x-sdk-date\n7bb86c888e4edcf6132ab79de9df41547b3fdd4b7bb97a4182fdd19e250ba60e",
        "SDK-HMAC-SHA256\n20240615T083000Z\na20db7fa04afc1cf2cce47457838e5563b31bb272d0da0b279aac3f52c8eac63",
        "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0123456, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=fec9a6b50ef999cc506af57c247cfa74e6fedd84fd0ce345972c6a8fe9a1adcf",
    );
}

#[test]
fn vector_get_job_with_query_string() {
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Sdk-Date", DATE),
        ("X-Project-Id", PROJECT),
        ("Host", HOST),
    ];
    check(
        RequestParts {
            method: "GET",
            path: "/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/workspace-sub-jobs",
            query: Some(
                "limit=10&job_id=8d0f6b4e-1c2a-4b7e-9a55-0c8e2f1d3b6a&status=RUNNING&offset=0&desktop_pool_id=pool%20a%2Bb&empty=",
            ),
            headers: &headers,
            body: b"",
        },
        "GET\n/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/workspace-sub-jobs/\ndesktop_pool_id=pool%20a%2Bb&empty=&job_id=8d0f6b4e-1c2a-4b7e-9a55-0c8e2f1d3b6a&limit=10&offset=0&status=RUNNING\ncontent-type:application/json\nhost:workspace.cn-north-4.myhuaweicloud.com\nx-project-id:0a1b2c3d4e5f40718293a4b5c6d7e8f9\nx-sdk-date:20240615T083000Z\n\ncontent-type;host;x-project-id;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "SDK-HMAC-SHA256\n20240615T083000Z\nc439a93f5c2f98d0f83e10c829c33a19afab037ca8619b47fceb205d93b4b863",
        "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0123456, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=dfc72e62046c2c824b6ec476a92dff144f3dccfbd2d8fc7f4bb7790f7635ccf7",
    );
}

#[test]
fn vector_pool_with_security_token() {
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Sdk-Date", DATE),
        ("X-Project-Id", PROJECT),
        (
            "X-Security-Token",
            "gQpjbi1ub3J0aC00EXAMPLESECURITYTOKEN+/==",
        ),
        ("Host", HOST),
    ];
    check(
        RequestParts {
            method: "POST",
            path: "/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/desktop-pools/pool-0002/notifications",
            query: None,
            headers: &headers,
            body: br#"{"notifications": "temp creds"}"#,
        },
        "POST\n/v2/0a1b2c3d4e5f40718293a4b5c6d7e8f9/desktop-pools/pool-0002/notifications/\n\ncontent-type:application/json\nhost:workspace.cn-north-4.myhuaweicloud.com\nx-project-id:0a1b2c3d4e5f40718293a4b5c6d7e8f9\nx-sdk-date:20240615T083000Z\nx-security-token:gQpjbi1ub3J0aC00EXAMPLESECURITYTOKEN+/==\n\ncontent-type;host;x-project-id;x-sdk-date;x-security-token\n4763de8883291ad450a5f2a681a2e3961b6038bc22f9d45636ea332570d259fb",
        "SDK-HMAC-SHA256\n20240615T083000Z\n9cb257661f9ba6475a0d456a9abf3b23907bc5d692aaa1b6c40345e308ab261d",
        "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0123456, SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token, Signature=2e1b2b15515b258bf5fc51e68ccd8ab320e44ecbcd1c296da28f1c86c68de615",
    );
}

fn canonical(path: &str, query: Option<&str>, headers: &[(&str, &str)], body: &[u8]) -> String {
    canonical_request(&RequestParts {
        method: "post",
        path,
        query,
        headers,
        body,
    })
    .request
}

#[test]
fn the_body_hash_covers_the_exact_utf8_bytes_of_chinese_and_emoji() {
    let body = "{\"notifications\":\"系统维护 🚧 \\\"quoted\\\" back\\\\slash\\n\\ttab\"}";
    let got = canonical("/p", None, &[("Host", "h")], body.as_bytes());
    let expected_hash = hex::encode(Sha256::digest(body.as_bytes()));
    assert!(got.ends_with(&expected_hash), "{got}");
    // Same text with one byte changed must give another hash.
    let other = canonical(
        "/p",
        None,
        &[("Host", "h")],
        body.replace('🚧', "x").as_bytes(),
    );
    assert_ne!(got, other);
}

#[test]
fn a_pool_id_that_needs_escaping_is_encoded_per_segment_with_upper_case_hex() {
    // Wire path already encoded (as the client sends it) and raw: both sign the same.
    let encoded = canonical(
        "/v2/p/desktop-pools/pool%20a%2Fb%C3%A9~x/notifications",
        None,
        &[],
        b"",
    );
    assert!(
        encoded.starts_with("POST\n/v2/p/desktop-pools/pool%20a/b%C3%A9~x/notifications/\n"),
        "{encoded}"
    );
    let lower = canonical("/v2/p/a%c3%a9", None, &[], b"");
    assert!(lower.starts_with("POST\n/v2/p/a%C3%A9/\n"), "{lower}");
}

#[test]
fn a_path_that_ends_with_a_slash_gets_no_second_one() {
    assert!(canonical("/v2/x/", None, &[], b"").starts_with("POST\n/v2/x/\n\n"));
}

#[test]
fn query_pairs_are_sorted_by_key_then_value_and_reencoded() {
    let got = canonical("/q", Some("b=2&a=z&a=y&flag&sp=a+b&u=%e4%b8%ad"), &[], b"");
    assert!(
        got.starts_with("POST\n/q/\na=y&a=z&b=2&flag=&sp=a%2Bb&u=%E4%B8%AD\n"),
        "{got}"
    );
}

#[test]
fn header_values_are_trimmed_names_lowered_and_underscored_names_left_out() {
    let headers = [
        ("X-Sdk-Date", "  20240615T083000Z \t"),
        ("Host", "127.0.0.1:18080"),
        ("X-Inner", " a  b "),
        ("X_Ignored", "zzz"),
    ];
    let built = canonical_request(&RequestParts {
        method: "POST",
        path: "/x",
        query: None,
        headers: &headers,
        body: b"",
    });
    assert_eq!(built.signed_headers, "host;x-inner;x-sdk-date");
    assert!(
        built
            .request
            .contains("\nhost:127.0.0.1:18080\nx-inner:a  b\nx-sdk-date:20240615T083000Z\n\n"),
        "{}",
        built.request
    );
}

#[test]
fn the_signature_is_hmac_of_the_string_to_sign_keyed_by_the_secret() {
    // RFC 4231 test case 2 for HMAC-SHA256.
    assert_eq!(
        signature(b"Jefe", "what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn query_pairs_sort_on_the_decoded_text_like_the_sdk() {
    // Decoded, "aa" < "a|"; encoded, "a%7C" < "aa". The SDK sorts the decoded pairs.
    let got = canonical("/q", Some("a%7C=1&aa=2"), &[], b"");
    assert!(got.starts_with("POST\n/q/\naa=2&a%7C=1\n"), "{got}");
}
