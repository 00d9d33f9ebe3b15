//! One HTTP call per method, signed. The body is serialized once; those exact bytes are hashed
//! into the signature and sent. Headers are set explicitly (including `Host`) so that what is
//! signed is what goes on the wire.

use chrono::{DateTime, Utc};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use std::time::Duration;

use super::credentials::Credentials;
use super::error::ApiError;
use super::response::{parse_error_body, parse_job_id, parse_retry_after};
use super::signer::{self, RequestParts};
use crate::domain::{PoolId, ProjectId};

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
