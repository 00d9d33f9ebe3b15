//! Audiences: the desktops a message is for, chosen by what administrators think in (tags,
//! an enterprise project, users, everyone) rather than by copied ids, and narrowed at send
//! time (only the connected ones). Pure: the listing comes from the Workspace client; this
//! says what to ask for, and, given the answer, who gets the message and who is left out and
//! why.

use std::collections::HashSet;

/// Workspace's tag limits: a key is 1-128 characters, a value 0-43.
const TAG_KEY_MAX: usize = 128;
const TAG_VALUE_MAX: usize = 43;

/// Who among the selected desktops gets the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Audience {
    /// Every selected desktop.
    #[default]
    All,
    /// Only those whose `connect_status` is `CONNECTED` when resolved.
    Connected,
}

impl Audience {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "all" => Ok(Self::All),
            "connected" => Ok(Self::Connected),
            other => Err(format!("must be \"all\" or \"connected\", got {other:?}")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Connected => "connected",
        }
    }
}

/// A schedule's selectors: the desktops carrying all of `tags`, in `enterprise_project`,
/// assigned to one of `users` (exact names), all intersected; or every desktop.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Selector {
    pub tags: Vec<(String, String)>,
    pub enterprise_project: Option<String>,
    pub users: Vec<String>,
    pub all_desktops: bool,
}

impl Selector {
    /// True when it selects anything (otherwise the schedule has static targets only).
    pub fn is_set(&self) -> bool {
        self.all_desktops
            || !self.tags.is_empty()
            || self.enterprise_project.is_some()
            || !self.users.is_empty()
    }

    /// The ListDesktops query for it (`users` go to the API's fuzzy filter too, to narrow
    /// the listing; [`resolve`] keeps exact matches only).
    pub fn query(&self) -> DesktopQuery {
        DesktopQuery {
            pool_ids: Vec::new(),
            tags: self.tags.clone(),
            enterprise_project: self.enterprise_project.clone(),
            users: self.users.clone(),
            desktop_ids: Vec::new(),
        }
    }

    /// The selector as text for records: `tags=dept=finance,site=sz;users=alice`.
    pub fn describe(&self, audience: Audience) -> String {
        let mut parts = Vec::new();
        if self.all_desktops {
            parts.push("all_desktops".to_owned());
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("tags={}", tags.join(",")));
        }
        if let Some(project) = &self.enterprise_project {
            parts.push(format!("enterprise_project={project}"));
        }
        if !self.users.is_empty() {
            parts.push(format!("users={}", self.users.join(",")));
        }
        if audience == Audience::Connected {
            parts.push("audience=connected".to_owned());
        }
        parts.join(";")
    }
}

/// The most desktop ids one ListDesktops query may name.
pub const DESKTOP_IDS_PER_QUERY: usize = 100;

/// What a schedule or window says about its audience, besides its static pools and desktops.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct AudienceSpec {
    pub selector: Selector,
    pub audience: Audience,
    /// The schedule's own guard; None: `[targets] max_audience`.
    pub max_audience: Option<usize>,
}

impl AudienceSpec {
    /// True when sending needs a listing first: selectors, or `connected` over static targets.
    pub fn needs_listing(&self, static_targets: bool) -> bool {
        self.selector.is_set() || (self.audience == Audience::Connected && static_targets)
    }

    /// The ListDesktops queries to make: the selectors' one; with `connected`, the static
    /// pools (one query) and the static desktops (by id, 100 a query) as well.
    pub fn queries(&self, pools: &[String], desktops: &[String]) -> Vec<DesktopQuery> {
        let mut out = Vec::new();
        if self.selector.is_set() {
            out.push(self.selector.query());
        }
        if self.audience == Audience::Connected {
            if !pools.is_empty() {
                out.push(DesktopQuery {
                    pool_ids: pools.to_vec(),
                    ..DesktopQuery::default()
                });
            }
            for ids in desktops.chunks(DESKTOP_IDS_PER_QUERY) {
                out.push(DesktopQuery {
                    desktop_ids: ids.to_vec(),
                    ..DesktopQuery::default()
                });
            }
        }
        out
    }

    /// The record of it: the selector and audience as text.
    pub fn describe(&self) -> String {
        self.selector.describe(self.audience)
    }
}

/// A ListDesktops query: its filters are combined with AND.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct DesktopQuery {
    pub pool_ids: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub enterprise_project: Option<String>,
    pub users: Vec<String>,
    /// At most [`DESKTOP_IDS_PER_QUERY`].
    pub desktop_ids: Vec<String>,
}

/// One ListDesktops row, as far as audiences need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desktop {
    pub desktop_id: String,
    pub computer_name: String,
    /// Its assigned users (`user_name` and `attach_user_infos`), exact names.
    pub users: Vec<String>,
    /// None for a personal desktop.
    pub pool_id: Option<String>,
    /// `CONNECTED`, `DISCONNECTED`, `REGISTERED`, `UNREGISTER`, verbatim.
    pub connect_status: String,
    pub in_maintenance_mode: bool,
    pub enterprise_project: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// Why a selected desktop does not get the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftOut {
    /// `audience = "connected"` and it was not.
    NotConnected,
    /// It is in one of the schedule's pools, which are sent to as pools.
    InPool,
}

impl LeftOut {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::InPool => "in_pool",
        }
    }
}

/// Who gets an occurrence's message (borrowing the listed desktops: a listing shared by many
/// schedules is not copied for each).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolution<'a> {
    /// Desktops sent to by id, each once, in listing order.
    pub targeted: Vec<&'a Desktop>,
    /// Selected desktops that are not, each with its reason.
    pub left_out: Vec<(&'a Desktop, LeftOut)>,
}

impl Resolution<'_> {
    /// Desktops the selectors matched (targeted or left out).
    pub fn matched(&self) -> usize {
        self.targeted.len() + self.left_out.len()
    }
}

/// Applies the rules the API cannot to `listed` (the answers to `spec.queries`): exact user
/// names; a desktop of one of `pools` is left out (the pool message reaches it) unless the
/// audience is `connected`, where pools and `desktops` are resolved too and sent to by desktop
/// id; only connected desktops with `connected`; no desktop twice.
pub fn resolve<'a>(
    spec: &AudienceSpec,
    pools: &[String],
    desktops: &[String],
    listed: impl IntoIterator<Item = &'a Desktop>,
) -> Resolution<'a> {
    let (selector, audience) = (&spec.selector, spec.audience);
    let wanted_users: HashSet<&str> = selector.users.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    let mut out = Resolution::default();
    for desktop in listed {
        if !seen.insert(desktop.desktop_id.as_str()) {
            continue;
        }
        let by_pool = desktop.pool_id.as_ref().is_some_and(|p| pools.contains(p));
        let named = desktops.contains(&desktop.desktop_id);
        // A desktop listed for a static pool or by id is the schedule's own, not the selectors'.
        if !by_pool
            && !named
            && !wanted_users.is_empty()
            && !desktop
                .users
                .iter()
                .any(|u| wanted_users.contains(u.as_str()))
        {
            continue;
        }
        let reason = match audience {
            Audience::All if by_pool => Some(LeftOut::InPool),
            // Sent by its static id already.
            Audience::All if named => None,
            Audience::Connected if desktop.connect_status != "CONNECTED" => {
                Some(LeftOut::NotConnected)
            }
            _ => None,
        };
        match reason {
            Some(reason) => out.left_out.push((desktop, reason)),
            None => out.targeted.push(desktop),
        }
    }
    out
}

/// Reads a `KEY=VALUE` tag (a selector's `tags` entry or `--tag`), within Workspace's limits.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!(
            "{:?} is not KEY=VALUE (e.g. \"dept=finance\")",
            super::shown(text, 80)
        ));
    };
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() {
        return Err(format!("{:?} has an empty key", super::shown(text, 80)));
    }
    if key.chars().count() > TAG_KEY_MAX {
        return Err(format!(
            "tag key {:?} is longer than Workspace's {TAG_KEY_MAX} characters",
            super::shown(key, 80)
        ));
    }
    if value.chars().count() > TAG_VALUE_MAX {
        return Err(format!(
            "tag value {:?} is longer than Workspace's {TAG_VALUE_MAX} characters",
            super::shown(value, 80)
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desktop(id: &str, users: &[&str], pool: Option<&str>, status: &str) -> Desktop {
        Desktop {
            desktop_id: id.to_owned(),
            computer_name: format!("pc-{id}"),
            users: users.iter().map(|u| u.to_string()).collect(),
            pool_id: pool.map(str::to_owned),
            connect_status: status.to_owned(),
            in_maintenance_mode: false,
            enterprise_project: None,
            tags: Vec::new(),
        }
    }

    fn spec(selector: Selector, audience: Audience) -> AudienceSpec {
        AudienceSpec {
            selector,
            audience,
            max_audience: None,
        }
    }

    #[test]
    fn connected_lists_static_targets_too_and_selectors_alone_otherwise() {
        let tags = Selector {
            tags: vec![("dept".into(), "it".into())],
            ..Selector::default()
        };
        let pools = ["p1".to_owned()];
        let desktops: Vec<String> = (0..150).map(|i| format!("d{i}")).collect();
        let all = spec(tags.clone(), Audience::All);
        assert_eq!(all.queries(&pools, &desktops), [tags.query()]);
        assert!(all.needs_listing(true));
        let connected = spec(Selector::default(), Audience::Connected);
        let queries = connected.queries(&pools, &desktops);
        assert_eq!(queries.len(), 3, "one for the pools, two of 100 and 50 ids");
        assert_eq!(queries[0].pool_ids, ["p1"]);
        assert_eq!(queries[2].desktop_ids.len(), 50);
        assert!(connected.needs_listing(true));
        assert!(!connected.needs_listing(false));
        assert!(!spec(Selector::default(), Audience::All).needs_listing(true));
    }

    #[test]
    fn a_desktop_named_by_id_is_not_filtered_by_users() {
        let selector = Selector {
            users: vec!["alice".into()],
            ..Selector::default()
        };
        let listed = vec![
            desktop("d1", &["zed"], None, "CONNECTED"),
            desktop("d2", &["alice"], None, "DISCONNECTED"),
        ];
        let r = resolve(
            &spec(selector, Audience::Connected),
            &[],
            &["d1".into()],
            &listed,
        );
        assert_eq!(ids(&r.targeted), ["d1"]);
        assert_eq!(r.left_out[0].1, LeftOut::NotConnected);
    }

    fn ids<'a>(desktops: &[&'a Desktop]) -> Vec<&'a str> {
        desktops.iter().map(|d| d.desktop_id.as_str()).collect()
    }

    #[test]
    fn users_are_matched_exactly_although_the_api_matches_substrings() {
        let selector = Selector {
            users: vec!["alice".into(), "bob".into()],
            ..Selector::default()
        };
        let listed = vec![
            desktop("d1", &["alice"], None, "CONNECTED"),
            desktop("d2", &["alice2"], None, "CONNECTED"),
            desktop("d3", &["malice", "bob"], None, "CONNECTED"),
            desktop("d4", &["Alice"], None, "CONNECTED"),
        ];
        let r = resolve(&spec(selector, Audience::All), &[], &[], &listed);
        assert_eq!(ids(&r.targeted), ["d1", "d3"]);
        assert!(r.left_out.is_empty());
    }

    #[test]
    fn a_desktop_of_a_static_pool_is_not_sent_to_again_by_id_and_none_twice() {
        let selector = Selector {
            tags: vec![("dept".into(), "finance".into())],
            ..Selector::default()
        };
        let listed = vec![
            desktop("d1", &[], Some("pool-a"), "CONNECTED"),
            desktop("d2", &[], Some("pool-b"), "DISCONNECTED"),
            desktop("d2", &[], Some("pool-b"), "DISCONNECTED"),
            desktop("d3", &[], None, "UNREGISTER"),
        ];
        let r = resolve(
            &spec(selector, Audience::All),
            &["pool-a".into()],
            &[],
            &listed,
        );
        assert_eq!(ids(&r.targeted), ["d2", "d3"]);
        assert_eq!(r.left_out.len(), 1);
        assert_eq!(
            (r.left_out[0].0.desktop_id.as_str(), r.left_out[0].1),
            ("d1", LeftOut::InPool)
        );
        assert_eq!(r.matched(), 3);
    }

    #[test]
    fn connected_only_sends_to_connected_desktops_and_resolves_pools_too() {
        let selector = Selector {
            all_desktops: true,
            ..Selector::default()
        };
        let listed = vec![
            desktop("d1", &[], Some("pool-a"), "CONNECTED"),
            desktop("d2", &[], Some("pool-a"), "REGISTERED"),
            desktop("d3", &[], None, "CONNECTED"),
            desktop("d4", &[], None, "DISCONNECTED"),
        ];
        let r = resolve(
            &spec(selector, Audience::Connected),
            &["pool-a".into()],
            &[],
            &listed,
        );
        assert_eq!(ids(&r.targeted), ["d1", "d3"]);
        let left: Vec<(&str, &str)> = r
            .left_out
            .iter()
            .map(|(d, why)| (d.desktop_id.as_str(), why.as_str()))
            .collect();
        assert_eq!(left, [("d2", "not_connected"), ("d4", "not_connected")]);
    }

    #[test]
    fn tags_are_checked_against_workspaces_limits() {
        assert_eq!(
            parse_tag("dept=finance"),
            Ok(("dept".into(), "finance".into()))
        );
        assert_eq!(parse_tag("vip="), Ok(("vip".into(), String::new())));
        assert_eq!(parse_tag("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_tag("dept").unwrap_err().contains("is not KEY=VALUE"));
        assert!(parse_tag("=x").unwrap_err().contains("empty key"));
        let long_key = format!("{}=v", "k".repeat(129));
        assert!(parse_tag(&long_key).unwrap_err().contains("128 characters"));
        let long_value = format!("k={}", "v".repeat(44));
        assert!(
            parse_tag(&long_value)
                .unwrap_err()
                .contains("43 characters")
        );
        assert!(
            parse_tag(&format!("k={}", "值".repeat(43))).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn the_selector_is_described_for_records() {
        let selector = Selector {
            tags: vec![("dept".into(), "finance".into())],
            users: vec!["alice".into()],
            ..Selector::default()
        };
        assert_eq!(
            selector.describe(Audience::Connected),
            "tags=dept=finance;users=alice;audience=connected"
        );
        assert!(!Selector::default().is_set());
    }
}
