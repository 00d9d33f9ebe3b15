//! ListDesktops (`GET /v2/{project_id}/desktops`): who is out there, for audiences resolved at
//! send time. The query's filters are combined with AND by the API; `user_name` is a fuzzy
//! (substring) match there, so the caller filters users exactly (`domain::audience`). Pages
//! of at most 1,000 are read until one comes back short, each through the workspace's pacer
//! like every other request, and the whole listing is bounded.

use serde::Deserialize;

use super::client::WorkspaceClient;
use super::error::ApiError;
use crate::domain::audience::{Desktop, DesktopQuery};

/// Desktops per ListDesktops page: the API's maximum.
pub(crate) const PAGE: u32 = 1000;

/// The most pages one listing reads (100,000 desktops): an answer that never comes back
/// short (a server bug) must not loop for ever.
const MAX_PAGES: u64 = 100;

impl WorkspaceClient {
    /// Every desktop matching `query`, page by page.
    pub async fn list_desktops(&self, query: &DesktopQuery) -> Result<Vec<Desktop>, ApiError> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let mut params = query_params(query);
            params.push(("offset", (page * u64::from(PAGE)).to_string()));
            params.push(("limit", PAGE.to_string()));
            let bytes = self.get("desktops", &params).await?;
            let (total, desktops) = parse_desktops(&bytes).map_err(ApiError::Malformed)?;
            let short = desktops.len() < PAGE as usize;
            all.extend(desktops);
            if short || total.is_some_and(|t| all.len() as u64 >= t) {
                return Ok(all);
            }
        }
        Err(ApiError::Malformed(format!(
            "ListDesktops still had more after {MAX_PAGES} pages of {PAGE}: stopped listing"
        )))
    }
}

/// The query's filters as ListDesktops parameters (the tag list as `k=v,k=v`).
fn query_params(query: &DesktopQuery) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if !query.pool_ids.is_empty() {
        params.push(("pool_id", query.pool_ids.join(",")));
    }
    if !query.tags.is_empty() {
        let tags: Vec<String> = query.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        params.push(("tag", tags.join(",")));
    }
    if let Some(project) = &query.enterprise_project {
        params.push(("enterprise_project_id", project.clone()));
    }
    if !query.users.is_empty() {
        params.push(("user_name", query.users.join(",")));
    }
    if !query.desktop_ids.is_empty() {
        params.push(("desktop_id", query.desktop_ids.join(",")));
    }
    params
}

/// One ListDesktops page: `total_count` and its desktops. Fields the API may leave out are
/// optional; a row without a `desktop_id` is skipped (nothing could be sent to it).
pub(super) fn parse_desktops(body: &[u8]) -> Result<(Option<u64>, Vec<Desktop>), String> {
    #[derive(Deserialize)]
    struct Tag {
        #[serde(default)]
        key: String,
        #[serde(default)]
        value: Option<String>,
    }
    #[derive(Deserialize)]
    struct User {
        #[serde(default)]
        user_name: Option<String>,
    }
    #[derive(Deserialize)]
    struct Row {
        #[serde(default)]
        desktop_id: Option<String>,
        #[serde(default)]
        computer_name: Option<String>,
        #[serde(default)]
        user_name: Option<String>,
        #[serde(default)]
        attach_user_infos: Option<Vec<User>>,
        #[serde(default)]
        pool_id: Option<String>,
        #[serde(default)]
        connect_status: Option<String>,
        #[serde(default)]
        in_maintenance_mode: Option<bool>,
        #[serde(default)]
        enterprise_project_id: Option<String>,
        #[serde(default)]
        tags: Option<Vec<Tag>>,
    }
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        total_count: Option<u64>,
        #[serde(default)]
        desktops: Option<Vec<Row>>,
    }
    let page: Page = serde_json::from_slice(body).map_err(|e| {
        let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        format!(
            "ListDesktops answered with something that is not its JSON ({e}): {}",
            crate::domain::shown(&shown, 200)
        )
    })?;
    let desktops = page
        .desktops
        .unwrap_or_default()
        .into_iter()
        .filter_map(|row| {
            let desktop_id = row.desktop_id.filter(|id| !id.is_empty())?;
            let mut users: Vec<String> = row
                .attach_user_infos
                .unwrap_or_default()
                .into_iter()
                .filter_map(|u| u.user_name.filter(|n| !n.is_empty()))
                .collect();
            if let Some(name) = row.user_name.filter(|n| !n.is_empty())
                && !users.contains(&name)
            {
                users.insert(0, name);
            }
            Some(Desktop {
                desktop_id,
                computer_name: row.computer_name.unwrap_or_default(),
                users,
                pool_id: row.pool_id.filter(|p| !p.is_empty()),
                connect_status: row.connect_status.unwrap_or_default(),
                in_maintenance_mode: row.in_maintenance_mode.unwrap_or(false),
                enterprise_project: row.enterprise_project_id.filter(|p| !p.is_empty()),
                tags: row
                    .tags
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| (t.key, t.value.unwrap_or_default()))
                    .collect(),
            })
        })
        .collect();
    Ok((page.total_count, desktops))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_read_with_every_optional_field_missing_or_present() {
        let body = br#"{"total_count": 3, "desktops": [
            {"desktop_id": "d1", "computer_name": "pc-1", "user_name": "alice",
             "attach_user_infos": [{"user_name": "alice"}, {"user_name": "bob"}],
             "pool_id": "", "connect_status": "CONNECTED", "in_maintenance_mode": true,
             "enterprise_project_id": "ep-1", "tags": [{"key": "dept", "value": "finance"}, {"key": "vip"}]},
            {"computer_name": "no id, skipped"},
            {"desktop_id": "d3"}
        ]}"#;
        let (total, desktops) = parse_desktops(body).unwrap();
        assert_eq!(total, Some(3));
        assert_eq!(desktops.len(), 2);
        let d1 = &desktops[0];
        assert_eq!(d1.users, ["alice", "bob"]);
        assert_eq!(d1.pool_id, None, "an empty pool id is a personal desktop");
        assert!(d1.in_maintenance_mode);
        assert_eq!(
            d1.tags,
            [
                ("dept".to_owned(), "finance".to_owned()),
                ("vip".to_owned(), String::new())
            ]
        );
        assert_eq!(desktops[1].connect_status, "");
        let err = parse_desktops(b"<html>gateway</html>").unwrap_err();
        assert!(err.contains("ListDesktops answered"), "{err}");
    }

    #[test]
    fn the_query_becomes_the_documented_filters() {
        let query = DesktopQuery {
            pool_ids: vec!["p1".into(), "p2".into()],
            tags: vec![
                ("dept".into(), "finance".into()),
                ("site".into(), "sz".into()),
            ],
            enterprise_project: Some("ep".into()),
            users: vec!["alice".into()],
            desktop_ids: vec!["d1".into(), "d2".into()],
        };
        assert_eq!(
            query_params(&query),
            [
                ("pool_id", "p1,p2".to_owned()),
                ("tag", "dept=finance,site=sz".to_owned()),
                ("enterprise_project_id", "ep".to_owned()),
                ("user_name", "alice".to_owned()),
                ("desktop_id", "d1,d2".to_owned()),
            ]
        );
        assert!(query_params(&DesktopQuery::default()).is_empty());
    }
}
