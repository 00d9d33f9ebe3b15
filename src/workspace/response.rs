//! Reading Workspace's answers: the 200 body's `job_id`, both error-body shapes, and
//! `Retry-After`. Pure: bytes and header values in, values out.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::time::Duration;

/// Longest slice of a non-JSON error body kept as the error message.
const MAX_ERROR_BODY: usize = 300;

/// `Retry-After` as delay-seconds or an HTTP date.
pub(super) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// `{"job_id": "..."}`; anything else is reported, not hidden.
pub(super) fn parse_job_id(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(Deserialize)]
    struct JobBody {
        job_id: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<JobBody>(body) {
        Ok(JobBody {
            job_id: Some(serde_json::Value::String(id)),
        }) if !id.trim().is_empty() => (Some(id), None),
        Ok(_) => (
            None,
            Some(format!(
                "200 answer without a usable job_id: {}",
                snippet(body)
            )),
        ),
        Err(e) => (
            None,
            Some(format!(
                "200 answer is not the expected JSON ({e}): {}",
                snippet(body)
            )),
        ),
    }
}

/// Both error shapes: `{error_code, error_msg, ...}` (service and gateway) and the nested
/// `{"error": {"code", "message"}}` some Huawei services use. A permission denial's
/// `encoded_authorization_message` (why IAM refused, decodable with IAM STS
/// `decode-authorization-message`) is kept in the message, so it is recorded with the attempt
/// and shown by `send` and `history`.
pub(super) fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
    let (code, message) = parse_error_fields(body);
    match authorization_message(body) {
        Some(encoded) => (
            code,
            format!(
                "{message}; encoded_authorization_message: {encoded} (decode it with IAM STS decode-authorization-message to see which permission is missing)"
            ),
        ),
        None => (code, message),
    }
}

/// `encoded_authorization_message`, when the body has a non-empty one.
fn authorization_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Denial {
        encoded_authorization_message: Option<String>,
    }
    serde_json::from_slice::<Denial>(body)
        .ok()?
        .encoded_authorization_message
        .filter(|m| !m.trim().is_empty())
}

fn parse_error_fields(body: &[u8]) -> (Option<String>, String) {
    #[derive(Deserialize)]
    struct Flat {
        error_code: Option<String>,
        error_msg: Option<String>,
        error: Option<Nested>,
    }
    #[derive(Deserialize)]
    struct Nested {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<Flat>(body) {
        Ok(Flat {
            error_code: Some(code),
            error_msg,
            ..
        }) => (Some(code), error_msg.unwrap_or_default()),
        Ok(Flat {
            error: Some(nested),
            ..
        }) => (nested.code, nested.message.unwrap_or_default()),
        Ok(Flat {
            error_msg: Some(msg),
            ..
        }) => (None, msg),
        _ => (None, snippet(body)),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    match text.char_indices().nth(MAX_ERROR_BODY) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn both_error_shapes_are_read() {
        let service = br#"{"error_code":"WKS.0001","error_msg":"bad pool","error_detail":"x","encoded_authorization_message":null}"#;
        assert_eq!(
            parse_error_body(service),
            (Some("WKS.0001".into()), "bad pool".into())
        );
        let gateway = br#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information","request_id":"r1"}"#;
        assert_eq!(parse_error_body(gateway).0.as_deref(), Some("APIGW.0301"));
        let denied = br#"{"error_code":"WKS.0403","error_msg":"no permission","encoded_authorization_message":"ENC123"}"#;
        let (code, msg) = parse_error_body(denied);
        assert_eq!(code.as_deref(), Some("WKS.0403"));
        assert!(
            msg.starts_with("no permission; encoded_authorization_message: ENC123"),
            "{msg}"
        );
        let nested = br#"{"error":{"code":"X.1","message":"nested"}}"#;
        assert_eq!(
            parse_error_body(nested),
            (Some("X.1".into()), "nested".into())
        );
        assert_eq!(
            parse_error_body(b"<html>502</html>"),
            (None, "<html>502</html>".into())
        );
    }

    #[test]
    fn a_200_without_a_job_id_is_flagged() {
        assert_eq!(
            parse_job_id(br#"{"job_id":"j-1"}"#),
            (Some("j-1".into()), None)
        );
        assert!(parse_job_id(br#"{"job_id":""}"#).1.is_some());
        assert!(parse_job_id(br#"{"jobid":"x"}"#).1.is_some());
        assert!(parse_job_id(b"not json").1.unwrap().contains("not json"));
    }
}
