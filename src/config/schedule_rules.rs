//! Validation of one schedule, shared by the config file (`schedules[N]`) and `schedule add`
//! (`--cron`, `--at`, ...): the same rules and the same error style from both.

use chrono_tz::Tz;
use std::time::Duration;

use super::fields::{self, Errors};
use super::raw::{RawResend, RawSchedule};
use crate::domain::schedule::{
    CatchUpPolicy, Message, ResendFailed, ScheduleSpec, SharedContent, Source,
};
use crate::domain::trigger::Trigger;
use crate::domain::{DesktopId, PoolId, ScheduleId, WorkspaceName};

/// What a schedule or window may leave out (its zone, its workspace when there is only one),
/// and which workspaces it may name with their message limits.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    pub timezone: Tz,
    /// Every configured workspace with its `max_message_chars`, in config order.
    pub workspaces: Vec<(WorkspaceName, Option<usize>)>,
}

impl Defaults {
    /// One workspace, `default`, and zone `timezone`.
    #[cfg(test)]
    pub(crate) fn one(timezone: Tz) -> Self {
        Self {
            timezone,
            workspaces: vec![(WorkspaceName::default_name(), None)],
        }
    }

    /// The workspace `named` (or the only one when none is named), or why not.
    pub(crate) fn workspace(&self, named: &Option<String>) -> Result<WorkspaceName, String> {
        let known = || {
            self.workspaces
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match named {
            Some(name) => self
                .workspaces
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(n, _)| n.clone())
                .ok_or_else(|| format!("unknown workspace {name:?}; configured: {}", known())),
            None => match self.workspaces.as_slice() {
                [(only, _)] => Ok(only.clone()),
                _ => Err(format!(
                    "required: several workspaces are configured ({}), and a message must never go to one by default",
                    known()
                )),
            },
        }
    }

    /// Why `text` is too long for workspace `name`, if it is.
    pub(crate) fn too_long(&self, name: &WorkspaceName, text: &str) -> Option<String> {
        let max = self.max_chars(name)?;
        let chars = text.chars().count();
        (chars > max).then(|| match name.as_str() {
            WorkspaceName::DEFAULT => {
                format!("is {chars} characters, more than workspace.max_message_chars = {max}")
            }
            other => format!(
                "is {chars} characters, more than max_message_chars = {max} of workspace {other:?}"
            ),
        })
    }

    /// The `max_message_chars` of workspace `name`.
    fn max_chars(&self, name: &WorkspaceName) -> Option<usize> {
        self.workspaces
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, max)| *max)
    }
}

/// The misfire grace when a schedule names none.
pub(super) const DEFAULT_MISFIRE_GRACE: Duration = Duration::from_secs(300);

/// The fields schedules and maintenance windows share, as written.
pub(super) struct SharedInput<'a> {
    pub id: &'a str,
    pub workspace: &'a Option<String>,
    pub timezone: &'a Option<String>,
    pub pools: &'a [String],
    pub desktops: &'a [String],
    pub selectors: super::raw::RawSelectors<'a>,
    pub misfire_grace: &'a Option<String>,
    pub resend_failed: &'a Option<RawResend>,
}

/// The fields schedules and maintenance windows share, each validated (None if invalid).
pub(super) struct SharedFields {
    pub id: Option<ScheduleId>,
    pub workspace: Option<WorkspaceName>,
    pub timezone: Option<Tz>,
    pub pools: Option<Vec<PoolId>>,
    pub desktops: Option<Vec<DesktopId>>,
    pub audience: Option<crate::domain::audience::AudienceSpec>,
    pub misfire_grace: Option<Duration>,
    /// Some(None): no automatic re-sends.
    pub resend_failed: Option<Option<ResendFailed>>,
}

impl SharedFields {
    pub(super) fn validate(
        input: SharedInput<'_>,
        key: &dyn Fn(&str) -> String,
        defaults: &Defaults,
        errors: &mut Errors,
    ) -> SharedFields {
        let id = input.id;
        let default_tz = defaults.timezone;
        let audience = super::selector_rules::validate_selectors(input.selectors, key, errors);
        let selects = audience.as_ref().is_some_and(|a| a.selector.is_set());
        if input.pools.is_empty() && input.desktops.is_empty() && !selects && audience.is_some() {
            errors.push(
                key("pools"),
                "must list at least one pool id (or desktops, tags, enterprise_project, users, all_desktops)",
            );
        }
        SharedFields {
            id: errors.take(
                &key("id"),
                match id.starts_with("test:") {
                    true => Err(format!(
                        "{id:?}: ids starting with test: are `send --test`'s"
                    )),
                    false => ScheduleId::parse(id).map_err(|e| format!("{e}, got {id:?}")),
                },
            ),
            workspace: errors.take(&key("workspace"), defaults.workspace(input.workspace)),
            timezone: match input.timezone {
                Some(tz) => errors.take(&key("timezone"), fields::timezone(tz)),
                None => Some(default_tz),
            },
            pools: validate_ids(input.pools, &key("pools"), "pool", PoolId::parse, errors),
            desktops: validate_ids(
                input.desktops,
                &key("desktops"),
                "desktop",
                DesktopId::parse,
                errors,
            ),
            audience,
            misfire_grace: match input.misfire_grace {
                Some(grace) => errors.take(
                    &key("misfire_grace"),
                    fields::bounded_duration(grace, fields::MISFIRE_GRACE),
                ),
                None => Some(DEFAULT_MISFIRE_GRACE),
            },
            resend_failed: match input.resend_failed {
                None => Some(None),
                Some(raw) => validate_resend(raw, key, errors).map(Some),
            },
        }
    }
}

/// `resend_failed = { attempts = 1..=5, after = "10s".."1h" }`.
fn validate_resend(
    raw: &RawResend,
    key: &dyn Fn(&str) -> String,
    errors: &mut Errors,
) -> Option<ResendFailed> {
    let attempts = errors.take(
        &key("resend_failed.attempts"),
        fields::bounded(raw.attempts, 1..=5),
    );
    let after = errors.take(
        &key("resend_failed.after"),
        fields::bounded_duration(&raw.after, fields::RESEND_AFTER),
    );
    Some(ResendFailed {
        attempts: attempts? as u32,
        after: after?,
    })
}

/// Validates `raw`, recording failures under the names `key` gives each field (e.g.
/// `schedules[2].timezone` for the file, `--timezone` for the CLI).
pub(crate) fn validate_schedule(
    raw: &RawSchedule,
    key: &dyn Fn(&str) -> String,
    defaults: &Defaults,
    source: Source,
    errors: &mut Errors,
) -> Option<ScheduleSpec> {
    let common = SharedFields::validate(
        SharedInput {
            id: &raw.id,
            workspace: &raw.workspace,
            timezone: &raw.timezone,
            pools: &raw.pools,
            desktops: &raw.desktops,
            selectors: raw.selectors(),
            misfire_grace: &raw.misfire_grace,
            resend_failed: &raw.resend_failed,
        },
        key,
        defaults,
        errors,
    );
    let trigger = validate_trigger(raw, &key, errors);
    let catch_up = match raw.catch_up.as_deref() {
        None => Some(CatchUpPolicy::default()),
        Some(text) => errors.take(
            &key("catch_up"),
            CatchUpPolicy::parse(text).ok_or_else(|| {
                format!(
                    "must be one of {}, got {text:?}",
                    CatchUpPolicy::NAMES.join(", ")
                )
            }),
        ),
    };
    if raw.message.trim().is_empty() {
        errors.push(key("message"), "must not be empty");
    }
    if let Some(problem) = common
        .workspace
        .as_ref()
        .and_then(|w| defaults.too_long(w, &raw.message))
    {
        errors.push(key("message"), problem);
    }
    if let Some(var) = window_variable_in(&raw.message) {
        errors.push(
            key("message"),
            format!(
                "{var} is a maintenance-window variable: a schedule's message is sent exactly as written, so it would reach users as \"{var}\" (use a [[maintenance_windows]] entry, or write the text itself)"
            ),
        );
    }
    let SharedFields {
        id,
        workspace,
        timezone,
        pools,
        desktops,
        audience,
        misfire_grace,
        resend_failed,
    } = common;
    let (id, misfire_grace) = (id?, misfire_grace?);
    Some(ScheduleSpec {
        workspace: workspace?,
        desktops: desktops?,
        audience: audience?,
        resend_failed: resend_failed?,
        record_as: id.clone(),
        id,
        trigger: trigger?,
        timezone: timezone?,
        pools: pools?,
        misfire_grace,
        enabled: raw.enabled.unwrap_or(true),
        source,
        catch_up: catch_up?,
        content: SharedContent(std::sync::Arc::new(Message {
            text: raw.message.clone(),
            misfire_grace,
        })),
    })
    .filter(|_| !raw.message.trim().is_empty())
}

/// The first maintenance-window template variable (`{date}`, `{start}`, ...) in `text`.
fn window_variable_in(text: &str) -> Option<&'static str> {
    [
        "{start}",
        "{end}",
        "{date}",
        "{time_left}",
        "{minutes_left}",
        "{duration}",
        "{window}",
    ]
    .into_iter()
    .find(|var| text.contains(var))
}

fn validate_trigger(
    raw: &RawSchedule,
    key: &dyn Fn(&str) -> String,
    errors: &mut Errors,
) -> Option<Trigger> {
    let given: Vec<&str> = [("cron", &raw.cron), ("at", &raw.at), ("every", &raw.every)]
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(name, _)| *name)
        .collect();
    if given.len() != 1 {
        errors.push(
            key("cron"),
            format!(
                "a schedule needs exactly one of cron, at, every; got {}",
                if given.is_empty() {
                    "none".to_owned()
                } else {
                    given.join(", ")
                }
            ),
        );
        return None;
    }
    if raw.start.is_some() && raw.every.is_none() {
        errors.push(key("start"), "only an `every` schedule takes a start");
        return None;
    }
    if let Some(expr) = &raw.cron {
        return errors.take(&key("cron"), Trigger::cron(expr));
    }
    if let Some(at) = &raw.at {
        return errors
            .take(&key("at"), fields::instant(at))
            .map(Trigger::At);
    }
    let every = raw.every.as_deref().unwrap_or_default();
    let period = errors.take(
        &key("every"),
        fields::bounded_duration(every, fields::EVERY),
    );
    let start = match &raw.start {
        Some(start) => Some(errors.take(&key("start"), fields::instant(start))?),
        None => None,
    };
    Some(Trigger::Every {
        period: period?,
        start,
    })
}

/// Distinct ids, each valid; an empty list is fine here (pools or desktops, see above).
fn validate_ids<T: Eq + std::hash::Hash + AsRef<str>>(
    raw: &[String],
    key: &str,
    noun: &str,
    parse: fn(&str) -> Result<T, crate::domain::InvalidId>,
    errors: &mut Errors,
) -> Option<Vec<T>> {
    let mut ids = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        let parsed = parse(id).map_err(|e| format!("{e}, got {id:?}"));
        ids.push(errors.take(&format!("{key}[{i}]"), parsed)?);
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = ids.iter().find(|p| !seen.insert(*p)) {
        errors.push(key, format!("{noun} {:?} is listed twice", dup.as_ref()));
        return None;
    }
    Some(ids)
}
