//! One HTTP call per method, signed. The body is serialized once; those exact bytes are hashed
//! into the signature and sent. Headers are set explicitly (including `Host`) so that what is
//! signed is what goes on the wire.

use chrono::{DateTime, Utc};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::time::Duration;

use super::credentials::Credentials;
use super::error::ApiError;
use super::signer::{self, RequestParts};
use crate::domain::{PoolId, ProjectId};

/// Longest slice of a non-JSON error body kept as the error message.
const MAX_ERROR_BODY: usize = 300;

pub struct WorkspaceClient {
    http: reqwest::Client,
    endpoint: Url,
    project_id: ProjectId,
    credentials: Credentials,
    timeout: Duration,
}

/// A 200 answer. `job_id` is None when the body had none; `malformed` then says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub job_id: Option<String>,
    pub malformed: Option<String>,
    pub request_id: Option<String>,
}

impl WorkspaceClient {
    pub fn new(
        endpoint: Url,
        project_id: ProjectId,
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("workspace-notifier/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            endpoint,
            project_id,
            credentials,
            timeout,
        })
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// SendDesktopPoolNotifications: every user of `pool` sees `text`.
    pub async fn send_pool_notification(
        &self,
        pool: &PoolId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Accepted, ApiError> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            notifications: &'a str,
        }
        let path = format!(
            "/v2/{}/desktop-pools/{}/notifications",
            signer::encode_component(self.project_id.as_str()),
            signer::encode_component(pool.as_str()),
        );
        let body = serde_json::to_vec(&Body {
            notifications: text,
        })
        .expect("a struct of one string always serializes");
        self.post(&path, body, now).await
    }

    async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Accepted, ApiError> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        let url = Url::parse(&format!("{base}{path}"))
            .map_err(|e| ApiError::Transport(format!("bad request URL: {e}")))?;
        let headers = self.signed_headers("POST", &url, &body, now);
        let sent = self
            .http
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = sent.status().as_u16();
        let request_id = header_text(sent.headers(), "x-request-id");
        let retry_after = header_text(sent.headers(), "retry-after")
            .and_then(|v| parse_retry_after(&v, Utc::now()));
        let bytes = sent.bytes().await.map_err(|e| self.classify(e))?;
        if status == 200 {
            let (job_id, malformed) = parse_job_id(&bytes);
            return Ok(Accepted {
                job_id,
                malformed,
                request_id,
            });
        }
        let (error_code, error_msg) = parse_error_body(&bytes);
        Err(ApiError::Http {
            status,
            error_code,
            error_msg,
            request_id,
            retry_after,
        })
    }

    /// The request headers, `Authorization` (or `X-Auth-Token`) included.
    fn signed_headers(
        &self,
        method: &str,
        url: &Url,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> HeaderMap {
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let sdk_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let mut pairs: Vec<(&str, String)> = vec![
            ("Content-Type", "application/json".to_owned()),
            ("Host", host),
            ("X-Project-Id", self.project_id.as_str().to_owned()),
            ("X-Sdk-Date", sdk_date.clone()),
        ];
        match &self.credentials {
            Credentials::AkSk {
                access_key,
                secret_key,
                security_token,
            } => {
                if let Some(token) = security_token {
                    pairs.push(("X-Security-Token", token.expose_secret().to_owned()));
                }
                let borrowed: Vec<(&str, &str)> =
                    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let parts = RequestParts {
                    method,
                    path: url.path(),
                    query: url.query(),
                    headers: &borrowed,
                    body,
                };
                let auth = signer::authorization(
                    &parts,
                    access_key,
                    secret_key.expose_secret().as_bytes(),
                    &sdk_date,
                );
                pairs.push(("Authorization", auth));
            }
            Credentials::Token { .. } => {
                pairs.push((
                    "X-Auth-Token",
                    self.credentials.token_value().unwrap_or_default(),
                ));
            }
        }
        let mut map = HeaderMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            if let (Ok(name), Ok(mut value)) =
                (HeaderName::try_from(name), HeaderValue::try_from(value))
            {
                if matches!(
                    name.as_str(),
                    "authorization" | "x-auth-token" | "x-security-token"
                ) {
                    value.set_sensitive(true);
                }
                map.insert(name, value);
            }
        }
        map
    }

    fn classify(&self, err: reqwest::Error) -> ApiError {
        if err.is_timeout() {
            return ApiError::Timeout(self.timeout);
        }
        let detail = error_chain(&err);
        if err.is_connect() {
            ApiError::Connect {
                endpoint: self.endpoint.to_string(),
                detail,
            }
        } else {
            ApiError::Transport(detail)
        }
    }
}

/// The innermost causes of a reqwest error, without the URL reqwest puts first.
fn error_chain(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    parts.join(": ")
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// `{"job_id": "..."}`; anything else is reported, not hidden.
fn parse_job_id(body: &[u8]) -> (Option<String>, Option<String>) {
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
/// `{"error": {"code", "message"}}` some Huawei services use.
fn parse_error_body(body: &[u8]) -> (Option<String>, String) {
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
