//! One HTTP call per method, signed. The body is serialized once; those exact bytes are hashed
//! into the signature and sent. Headers are set explicitly (including `Host`) so that what is
//! signed is what goes on the wire. (Over 400 lines: one builder per Workspace operation —
//! pool and desktop sends, ShowJob, ListItaSubJobs — sharing the signing and answer reading.)

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

use super::credentials::Credentials;
use super::error::{ApiError, describe_build_error, error_chain};
use super::jobs::{JobRef, JobReport, SubJobPage, parse_job, parse_job_refs, parse_sub_jobs};
use super::pacer::{Pacer, is_throttling};
use super::response::{parse_error_body, parse_job_id, parse_retry_after};
use super::signer::{self, RequestParts};
use crate::domain::{DesktopId, PoolId, ProjectId, Target};

pub struct WorkspaceClient {
    http: reqwest::Client,
    endpoint: Url,
    project_id: ProjectId,
    credentials: Credentials,
    timeout: Duration,
    /// Every request of this client waits for its turn (rate and throttling pauses).
    pacer: Arc<Pacer>,
}

/// A 200 answer. `job_id` is None when the body had none; `malformed` then says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub job_id: Option<String>,
    pub malformed: Option<String>,
    pub request_id: Option<String>,
}

/// A signed request not sent yet. Deliveries sign their first attempt while they wait for
/// the due instant, so that signing is not part of their lateness.
pub struct Prepared {
    request: reqwest::Request,
    signed_at: DateTime<Utc>,
    /// False for a call answered without a job (SetMaintenanceMode).
    pub(super) expects_job: bool,
}

/// How long a prepared request may wait before it is signed again. Workspace's gateway
/// accepts an `X-Sdk-Date` within 15 minutes of its clock; a request queued behind
/// `max_in_flight` for longer than this gets a fresh date rather than risk that window.
pub(super) const PREPARED_MAX_AGE: TimeDelta = TimeDelta::seconds(60);

impl Prepared {
    /// False once the request was signed more than [`PREPARED_MAX_AGE`] before `now` (or,
    /// after a clock step back, after `now`).
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        let age = now - self.signed_at;
        age >= TimeDelta::zero() && age <= PREPARED_MAX_AGE
    }
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
            // One attempt is one request, recorded as such: retries are ours (`retry.rs`), and
            // a redirect is an answer to report, not to follow with a signature for another URL.
            .retry(reqwest::retry::never())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Transport(describe_build_error(&e)))?;
        Ok(Self {
            http,
            endpoint,
            project_id,
            credentials,
            timeout,
            pacer: Arc::new(Pacer::new(None, Duration::from_secs(5))),
        })
    }

    /// Paces requests with `pacer` (`workspace.max_requests_per_second`).
    pub fn paced(mut self, pacer: Arc<Pacer>) -> Self {
        self.pacer = pacer;
        self
    }

    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The notification to `target`, signed at `now`, to send with [`Self::send`].
    pub fn prepare(
        &self,
        target: &Target,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Prepared, ApiError> {
        match target {
            Target::Pool(pool) => self.prepare_pool_notification(pool, text, now),
            Target::Desktops { ids, .. } => self.prepare_desktops_notification(ids, text, now),
            Target::Mode { on, ids, .. } => self.prepare_maintenance_mode(ids, *on, now),
        }
    }

    /// SendNotifications, signed at `now`: the users of each of `desktops` see `text`.
    pub fn prepare_desktops_notification(
        &self,
        desktops: &[DesktopId],
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Prepared, ApiError> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            desktop_ids: Vec<&'a str>,
            notifications: &'a str,
        }
        let body = serde_json::to_vec(&Body {
            desktop_ids: desktops.iter().map(DesktopId::as_str).collect(),
            notifications: text,
        })
        .expect("strings always serialize");
        self.prepare_request(reqwest::Method::POST, "desktops/notifications", body, now)
    }

    /// SendDesktopPoolNotifications, signed at `now`, to send with [`Self::send`] (see
    /// [`Prepared::is_fresh`]): every user of `pool` sees `text`.
    pub fn prepare_pool_notification(
        &self,
        pool: &PoolId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Prepared, ApiError> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            notifications: &'a str,
        }
        let path = format!(
            "desktop-pools/{}/notifications",
            signer::encode_component(pool.as_str())
        );
        let body = serde_json::to_vec(&Body {
            notifications: text,
        })
        .expect("a struct of one string always serializes");
        self.prepare_request(reqwest::Method::POST, &path, body, now)
    }

    /// A signed request of `method` with `body` to `/v2/{project_id}/{path}`.
    pub(super) fn prepare_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Prepared, ApiError> {
        let mut url = self.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!(
            "{base}/v2/{}/{path}",
            signer::encode_component(self.project_id.as_str()),
        ));
        let headers = self.signed_headers(method.as_str(), &url, &body, now);
        let request = self
            .http
            .request(method, url)
            .headers(headers)
            .body(body)
            .build()
            .map_err(|e| {
                ApiError::Transport(format!("cannot build the request: {}", error_chain(&e)))
            })?;
        Ok(Prepared {
            request,
            signed_at: now,
            expects_job: true,
        })
    }

    /// Sends a prepared request.
    pub async fn send(&self, prepared: Prepared) -> Result<Accepted, ApiError> {
        let expects_job = prepared.expects_job;
        let (bytes, request_id) = self.execute(prepared.request).await?;
        let (job_id, malformed) = match expects_job {
            true => parse_job_id(&bytes),
            false => (None, None),
        };
        Ok(Accepted {
            job_id,
            malformed,
            request_id,
        })
    }

    /// ShowJob: the job's status and the desktops it lists.
    pub async fn show_job(&self, job_id: &str) -> Result<JobReport, ApiError> {
        let path = format!("workspace-jobs/{}", signer::encode_component(job_id));
        let bytes = self.get(&path, &[]).await?;
        parse_job(&bytes).map_err(ApiError::Malformed)
    }

    /// ListItaSubJobs: one page of a job's desktops.
    pub async fn list_sub_jobs(
        &self,
        job_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<SubJobPage, ApiError> {
        let query = [
            ("job_id", job_id.to_owned()),
            ("limit", limit.to_string()),
            ("offset", offset.to_string()),
        ];
        let bytes = self.get("workspace-sub-jobs", &query).await?;
        parse_sub_jobs(&bytes).map_err(ApiError::Malformed)
    }

    /// The jobs of `pool`'s recent sub-jobs (ListItaSubJobs filtered by `desktop_pool_id`).
    pub async fn recent_pool_jobs(
        &self,
        pool: &PoolId,
        limit: u32,
    ) -> Result<Vec<JobRef>, ApiError> {
        let query = [
            ("desktop_pool_id", pool.as_str().to_owned()),
            ("limit", limit.to_string()),
            ("offset", "0".to_owned()),
        ];
        let bytes = self.get("workspace-sub-jobs", &query).await?;
        parse_job_refs(&bytes).map_err(ApiError::Malformed)
    }

    /// A signed GET of `/v2/{project_id}/{path}` with `query`; the body of a 200.
    pub(super) async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<u8>, ApiError> {
        let mut url = self.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!(
            "{base}/v2/{}/{path}",
            signer::encode_component(self.project_id.as_str())
        ));
        if !query.is_empty() {
            let encoded: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k}={}", signer::encode_component(v)))
                .collect();
            url.set_query(Some(&encoded.join("&")));
        }
        let headers = self.signed_headers("GET", &url, b"", Utc::now());
        let request = self.http.get(url).headers(headers).build().map_err(|e| {
            ApiError::Transport(format!("cannot build the request: {}", error_chain(&e)))
        })?;
        Ok(self.execute(request).await?.0)
    }

    /// Sends `request`; the body of a 200 and its `X-Request-Id`, or the API's error.
    async fn execute(
        &self,
        request: reqwest::Request,
    ) -> Result<(Vec<u8>, Option<String>), ApiError> {
        self.pacer.ready().await;
        let sent = self
            .http
            .execute(request)
            .await
            .map_err(|e| self.classify(e))?;
        let status = sent.status().as_u16();
        let request_id = header_text(sent.headers(), "x-request-id");
        let retry_after = header_text(sent.headers(), "retry-after")
            .and_then(|v| parse_retry_after(&v, Utc::now()));
        let bytes = sent.bytes().await.map_err(|e| self.classify(e))?;
        if status == 200 {
            return Ok((bytes.to_vec(), request_id));
        }
        let (error_code, error_msg) = parse_error_body(&bytes);
        if is_throttling(status, error_code.as_deref()) {
            self.pacer.throttled(retry_after);
        }
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
        // Every value is cleared when this returns: the security token and the IAM token are
        // among them. The header map holds its own copy (marked sensitive), which the HTTP
        // stack drops with the request; that copy cannot be cleared from here.
        let mut pairs: Vec<(&str, Zeroizing<String>)> = vec![
            ("Content-Type", "application/json".to_owned().into()),
            ("Host", host.into()),
            ("X-Project-Id", self.project_id.as_str().to_owned().into()),
            ("X-Sdk-Date", sdk_date.clone().into()),
        ];
        match &self.credentials {
            Credentials::AkSk {
                access_key,
                secret_key,
                security_token,
            } => {
                if let Some(token) = security_token {
                    pairs.push(("X-Security-Token", token.expose_secret().to_owned().into()));
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
                pairs.push(("Authorization", auth.into()));
            }
            Credentials::Token { .. } => {
                if let Some(token) = self.credentials.token_value() {
                    pairs.push(("X-Auth-Token", token));
                }
            }
        }
        let mut map = HeaderMap::with_capacity(pairs.len());
        for (name, value) in &pairs {
            if let (Ok(name), Ok(mut value)) =
                (HeaderName::try_from(*name), HeaderValue::from_str(value))
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

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
