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

    /// The most desktops an occurrence may match: its own guard, else `default`.
    pub fn limit(&self, default: usize) -> usize {
        self.max_audience.unwrap_or(default)
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
#[path = "audience_tests.rs"]
mod tests;
