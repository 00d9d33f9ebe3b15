//! `[workspace]` or `[[workspaces]]`: each one's name, the endpoint (a known region, or an explicit URL), the project id, the
//! request timeout and which credential files go together.

use reqwest::Url;

use super::WorkspaceConfig;
use super::fields::{self, Errors};
use super::raw;
use crate::domain::{ProjectId, WorkspaceName};
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

/// `[workspace]` alone (named `default`), or every `[[workspaces]]` entry; both together is
/// an error. Returns None if any is invalid.
pub(super) fn validate_workspaces(
    single: Option<&raw::RawWorkspace>,
    several: &[raw::RawWorkspace],
    errors: &mut Errors,
) -> Option<Vec<WorkspaceConfig>> {
    if several.is_empty() {
        let default = raw::RawWorkspace::default();
        let w = single.unwrap_or(&default);
        if let Some(name) = &w.name {
            errors.push(
                "workspace.name",
                format!(
                    "{name:?}: the single [workspace] is always named \"default\"; name workspaces in [[workspaces]] entries"
                ),
            );
        }
        let name = WorkspaceName::default_name();
        return validate_workspace(w, name, "workspace", errors).map(|w| vec![w]);
    }
    if single.is_some() {
        errors.push(
            "workspace",
            "[workspace] and [[workspaces]] together: give the one workspace as [workspace], or every workspace (each with a name) as [[workspaces]]",
        );
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, w) in several.iter().enumerate() {
        let prefix = format!("workspaces[{i}]");
        let name = match &w.name {
            None => {
                errors.push(
                    format!("{prefix}.name"),
                    "required: [a-z0-9-]{1,32}, unique",
                );
                None
            }
            Some(name) => errors
                .take(
                    &format!("{prefix}.name"),
                    WorkspaceName::parse(name).map_err(|e| format!("{e}, got {name:?}")),
                )
                .filter(|parsed| {
                    let new = seen.insert(parsed.clone());
                    if !new {
                        errors.push(
                            format!("{prefix}.name"),
                            format!("duplicate workspace name {name:?}"),
                        );
                    }
                    new
                }),
        };
        let config = name.and_then(|name| validate_workspace(w, name, &prefix, errors));
        out.push(config);
    }
    out.into_iter().collect()
}

fn validate_workspace(
    w: &raw::RawWorkspace,
    name: WorkspaceName,
    prefix: &str,
    errors: &mut Errors,
) -> Option<WorkspaceConfig> {
    let key = |field: &str| format!("{prefix}.{field}");
    let endpoint = match &w.endpoint {
        Some(endpoint) => errors.take(&key("endpoint"), parse_endpoint(endpoint)),
        None => errors.take(&key("region"), region_endpoint(&w.region, prefix)),
    };
    let project_id = match &w.project_id {
        Some(id) => Some(errors.take(
            &key("project_id"),
            ProjectId::parse(id).map_err(|e| format!("{e}, got {id:?}")),
        )?),
        None => None,
    };
    let request_timeout = errors.take(
        &key("request_timeout"),
        fields::bounded_duration(&w.request_timeout, fields::REQUEST_TIMEOUT),
    );
    let max_chars = errors.take(
        &key("max_message_chars"),
        fields::bounded(w.max_message_chars, 0..=i64::from(u32::MAX)),
    );
    let max_rps = errors.take(
        &key("max_requests_per_second"),
        fields::bounded(w.max_requests_per_second, 0..=10_000),
    );
    let throttle_pause_max = errors.take(
        &key("throttle_pause_max"),
        fields::bounded_duration(&w.throttle_pause_max, fields::THROTTLE_PAUSE),
    );
    let c = &w.credentials;
    if c.token_file.is_some() && (c.access_key_file.is_some() || c.secret_key_file.is_some()) {
        errors.push(
            key("credentials.token_file"),
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
            key(&format!("credentials.{missing}")),
            "access_key_file and secret_key_file go together; this one is missing",
        );
    }
    if c.security_token_file.is_some() && c.access_key_file.is_none() {
        errors.push(
            key("credentials.security_token_file"),
            "a security token goes with access_key_file and secret_key_file (temporary AK/SK)",
        );
    }
    let named = (name.as_str() != WorkspaceName::DEFAULT).then(|| name.to_string());
    Some(WorkspaceConfig {
        name,
        key: prefix.to_owned(),
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
            workspace: named,
        },
    })
}

fn region_endpoint(region: &str, prefix: &str) -> Result<Url, String> {
    if !REGIONS.contains(&region) {
        return Err(format!(
            "unknown region {region:?}; known: {}; for another region or a private endpoint set {prefix}.endpoint",
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
