//! `[workspace]`: the endpoint (a known region, or an explicit URL), the project id, the
//! request timeout and which credential files go together.

use reqwest::Url;

use super::WorkspaceConfig;
use super::fields::{self, Errors};
use super::raw;
use crate::domain::ProjectId;
use crate::workspace::CredentialPaths;

/// Regions the official SDK knows for Workspace (docs/huawei-api.md).
const REGIONS: &[&str] = &[
    "cn-north-4",
    "cn-north-9",
    "cn-north-11",
    "cn-east-3",
    "cn-east-5",
    "cn-south-1",
    "cn-southwest-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "af-south-1",
    "af-north-1",
    "la-south-2",
    "la-north-2",
    "sa-brazil-1",
    "me-east-1",
    "tr-west-1",
    "eu-west-101",
];

pub(super) fn validate_workspace(
    w: &raw::RawWorkspace,
    errors: &mut Errors,
) -> Option<WorkspaceConfig> {
    let endpoint = match &w.endpoint {
        Some(endpoint) => errors.take("workspace.endpoint", parse_endpoint(endpoint)),
        None => errors.take("workspace.region", region_endpoint(&w.region)),
    };
    let project_id = match &w.project_id {
        Some(id) => Some(errors.take(
            "workspace.project_id",
            ProjectId::parse(id).map_err(|e| format!("{e}, got {id:?}")),
        )?),
        None => None,
    };
    let request_timeout = errors.take(
        "workspace.request_timeout",
        fields::bounded_duration(&w.request_timeout, fields::REQUEST_TIMEOUT),
    );
    let max_chars = errors.take(
        "workspace.max_message_chars",
        fields::bounded(w.max_message_chars, 0..=i64::from(u32::MAX)),
    );
    let max_rps = errors.take(
        "workspace.max_requests_per_second",
        fields::bounded(w.max_requests_per_second, 0..=10_000),
    );
    let throttle_pause_max = errors.take(
        "workspace.throttle_pause_max",
        fields::bounded_duration(&w.throttle_pause_max, fields::THROTTLE_PAUSE),
    );
    let c = &w.credentials;
    if c.token_file.is_some() && (c.access_key_file.is_some() || c.secret_key_file.is_some()) {
        errors.push(
            "workspace.credentials.token_file",
            "give either token_file or access_key_file + secret_key_file, not both",
        );
    }
    if c.access_key_file.is_some() != c.secret_key_file.is_some() {
        let missing = if c.access_key_file.is_none() {
            "access_key_file"
        } else {
            "secret_key_file"
        };
        errors.push(
            format!("workspace.credentials.{missing}"),
            "access_key_file and secret_key_file go together; this one is missing",
        );
    }
    if c.security_token_file.is_some() && c.access_key_file.is_none() {
        errors.push(
            "workspace.credentials.security_token_file",
            "a security token goes with access_key_file and secret_key_file (temporary AK/SK)",
        );
    }
    Some(WorkspaceConfig {
        endpoint: endpoint?,
        project_id,
        request_timeout: request_timeout?,
        max_message_chars: max_chars.filter(|n| *n > 0).map(|n| n as usize),
        max_requests_per_second: max_rps?.try_into().ok().filter(|n: &u32| *n > 0),
        throttle_pause_max: throttle_pause_max?,
        credentials: CredentialPaths {
            access_key_file: c.access_key_file.clone(),
            secret_key_file: c.secret_key_file.clone(),
            security_token_file: c.security_token_file.clone(),
            token_file: c.token_file.clone(),
            service_dir: None, // set by `config::load`, which knows the file
        },
    })
}

fn region_endpoint(region: &str) -> Result<Url, String> {
    if !REGIONS.contains(&region) {
        return Err(format!(
            "unknown region {region:?}; known: {}; for another region or a private endpoint set workspace.endpoint",
            REGIONS.join(", ")
        ));
    }
    Url::parse(&format!("https://workspace.{region}.myhuaweicloud.com"))
        .map_err(|e| format!("region {region:?} gives no valid endpoint: {e}"))
}

/// `https://` anywhere; `http://` only to a loopback host (local tests, a sidecar proxy).
fn parse_endpoint(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("invalid URL {raw:?}: {e}"))?;
    let Some(host) = url.host_str() else {
        return Err(format!("{raw:?} has no host"));
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{raw:?} must use https:// (plain http is allowed only to a loopback host)"
            ));
        }
        other => return Err(format!("{raw:?} has scheme {other:?}; use https://")),
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(format!(
            "{raw:?} must be a bare base URL, without user, query or fragment"
        ));
    }
    Ok(url)
}
