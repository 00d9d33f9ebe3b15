//! Validation of one schedule, shared by the config file (`schedules[N]`) and `schedule add`
//! (`--cron`, `--at`, ...): the same rules and the same error style from both.

use chrono_tz::Tz;
use std::time::Duration;

use super::fields::{self, Errors};
use super::raw::RawSchedule;
use crate::domain::schedule::{CatchUpPolicy, Message, ScheduleSpec, SharedContent, Source};
use crate::domain::trigger::{Trigger, parse_cron};
use crate::domain::{PoolId, ScheduleId};

/// The misfire grace when a schedule names none.
pub const DEFAULT_MISFIRE_GRACE: Duration = Duration::from_secs(300);

/// The fields schedules and maintenance windows share, each validated (None if invalid).
pub(super) struct SharedFields {
    pub id: Option<ScheduleId>,
    pub timezone: Option<Tz>,
    pub pools: Option<Vec<PoolId>>,
    pub misfire_grace: Option<Duration>,
}

impl SharedFields {
    pub fn validate(
        id: &str,
        timezone: &Option<String>,
        pools: &[String],
        misfire_grace: &Option<String>,
        key: &dyn Fn(&str) -> String,
        default_tz: Tz,
        errors: &mut Errors,
    ) -> SharedFields {
        SharedFields {
            id: errors.take(
                &key("id"),
                ScheduleId::parse(id).map_err(|e| format!("{e}, got {id:?}")),
            ),
            timezone: match timezone {
                Some(tz) => errors.take(&key("timezone"), fields::timezone(tz)),
                None => Some(default_tz),
            },
            pools: validate_pools(pools, &key("pools"), errors),
            misfire_grace: match misfire_grace {
                Some(grace) => errors.take(
                    &key("misfire_grace"),
                    fields::bounded_duration(grace, fields::MISFIRE_GRACE),
                ),
                None => Some(DEFAULT_MISFIRE_GRACE),
            },
        }
    }
}

/// Validates `raw`, recording failures under the names `key` gives each field (e.g.
/// `schedules[2].timezone` for the file, `--timezone` for the CLI).
pub fn validate_schedule(
    raw: &RawSchedule,
    key: &dyn Fn(&str) -> String,
    default_tz: Tz,
    source: Source,
    errors: &mut Errors,
) -> Option<ScheduleSpec> {
    let common = SharedFields::validate(
        &raw.id,
        &raw.timezone,
        &raw.pools,
        &raw.misfire_grace,
        key,
        default_tz,
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
    let SharedFields {
        id,
        timezone,
        pools,
        misfire_grace,
    } = common;
    let (id, misfire_grace) = (id?, misfire_grace?);
    Some(ScheduleSpec {
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
        let cron = errors.take(
            &key("cron"),
            parse_cron(expr).map_err(|e| format!("invalid cron expression {expr:?}: {e}")),
        )?;
        return Some(Trigger::Cron {
            expr: expr.clone(),
            cron,
        });
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

pub(super) fn validate_pools(
    raw: &[String],
    key: &str,
    errors: &mut Errors,
) -> Option<Vec<PoolId>> {
    if raw.is_empty() {
        errors.push(key, "must list at least one pool id");
        return None;
    }
    let mut pools = Vec::with_capacity(raw.len());
    for (i, pool) in raw.iter().enumerate() {
        let parsed = PoolId::parse(pool).map_err(|e| format!("{e}, got {pool:?}"));
        pools.push(errors.take(&format!("{key}[{i}]"), parsed)?);
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = pools.iter().find(|p| !seen.insert(*p)) {
        errors.push(key, format!("pool {:?} is listed twice", dup.as_str()));
        return None;
    }
    Some(pools)
}
