//! Selectors on schedules and windows (`tags`, `enterprise_project`, `users`,
//! `all_desktops`), `audience` and `max_audience`: each bad value named with its key.

use super::fields::Errors;
use super::policy_rules::MAX_AUDIENCE;
use super::raw::RawSelectors;
use crate::domain::audience::{Audience, AudienceSpec, Selector, parse_tag};

/// The longest enterprise project id or user name accepted (Workspace's are far shorter).
const MAX_NAME: usize = 128;

pub(super) fn validate_selectors(
    raw: RawSelectors<'_>,
    key: &dyn Fn(&str) -> String,
    errors: &mut Errors,
) -> Option<AudienceSpec> {
    let before = errors.len();
    let mut tags = Vec::new();
    for tag in raw.tags {
        if let Some(parsed) = errors.take(&key("tags"), parse_tag(tag)) {
            if tags.contains(&parsed) {
                errors.push(key("tags"), format!("{tag:?} is listed twice"));
            }
            tags.push(parsed);
        }
    }
    let enterprise_project = raw
        .enterprise_project
        .as_ref()
        .and_then(|p| errors.take(&key("enterprise_project"), name(p)));
    let mut users = Vec::new();
    for user in raw.users {
        if let Some(user) = errors.take(&key("users"), name(user))
            && !users.contains(&user)
        {
            users.push(user);
        }
    }
    let selector = Selector {
        tags,
        enterprise_project,
        users,
        all_desktops: raw.all_desktops.unwrap_or(false),
    };
    if selector.all_desktops
        && (!raw.tags.is_empty() || raw.enterprise_project.is_some() || !raw.users.is_empty())
    {
        errors.push(
            key("all_desktops"),
            "stands alone: with tags, enterprise_project or users it would not mean every desktop (remove all_desktops, or the others)",
        );
    }
    let audience = match raw.audience {
        None => Audience::default(),
        Some(text) => errors.take(&key("audience"), Audience::parse(text))?,
    };
    let max_audience = match raw.max_audience {
        None => None,
        Some(n) => Some(errors.take(
            &key("max_audience"),
            super::fields::bounded(n, MAX_AUDIENCE),
        )? as usize),
    };
    (errors.len() == before).then_some(AudienceSpec {
        selector,
        audience,
        max_audience,
    })
}

/// An enterprise project id or a user name: printable, 1 to 128 characters, no comma (the
/// API reads a comma as a list).
fn name(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME {
        return Err(format!("must be 1 to {MAX_NAME} characters, got {text:?}"));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() || c == ',' || c == '，')
    {
        return Err(format!(
            "must not contain commas or control characters, got {:?}",
            crate::domain::shown(text, 80)
        ));
    }
    Ok(trimmed.to_owned())
}
