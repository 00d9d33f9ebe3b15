//! Validation of one maintenance window, shared by the config file (`maintenance_windows[N]`)
//! and `maintenance add`.

use chrono_tz::Tz;
use std::collections::{BTreeSet, HashSet};

use super::fields::{self, Errors};
use super::raw::RawWindow;
use super::schedule_rules::{Defaults, SharedFields, SharedInput};
use crate::domain::maintenance::{Cancellations, WindowSpec};
use crate::domain::schedule::Source;
use crate::domain::template::Template;
use crate::domain::trigger::Trigger;

/// Every `[[maintenance_windows]]` entry of the file (`maintenance_windows[i]`), ids unique.
pub(super) fn validate_windows(
    raw: &[RawWindow],
    defaults: &Defaults,
    errors: &mut Errors,
) -> Vec<WindowSpec> {
    let mut seen = HashSet::new();
    let mut windows = Vec::new();
    for (i, window) in raw.iter().enumerate() {
        let prefix = format!("maintenance_windows[{i}]");
        if !seen.insert(window.id.as_str()) {
            errors.push(
                format!("{prefix}.id"),
                format!("duplicate window id {:?}", window.id),
            );
        }
        let key = |name: &str| format!("{prefix}.{name}");
        if let Some(spec) = validate_window(window, &key, defaults, Source::File, errors) {
            windows.push(spec);
        }
    }
    windows
}

/// Validates `raw`, recording failures under the names `key` gives each field.
pub(crate) fn validate_window(
    raw: &RawWindow,
    key: &dyn Fn(&str) -> String,
    defaults: &Defaults,
    source: Source,
    errors: &mut Errors,
) -> Option<WindowSpec> {
    let default_tz = defaults.timezone;
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
    let starts = match (&raw.start, &raw.cron) {
        (Some(start), None) => errors
            .take(&key("start"), fields::instant(start))
            .map(Trigger::At),
        (None, Some(expr)) => errors.take(&key("cron"), Trigger::cron(expr)),
        (Some(_), Some(_)) => {
            errors.push(
                key("start"),
                "a window takes either start (one-off) or cron (recurring), not both",
            );
            None
        }
        (None, None) => {
            errors.push(
                key("start"),
                "a window needs start (one-off) or cron (recurring)",
            );
            None
        }
    };
    let duration = errors.take(
        &key("duration"),
        fields::bounded_duration(&raw.duration, fields::WINDOW_SPAN),
    );
    let leads = validate_leads(&raw.notify_before, &key("notify_before"), errors);
    let label = format!("window {:?}", raw.id);
    let template = |field: &str, text: &str, errors: &mut Errors| {
        if text.trim().is_empty() {
            errors.push(key(field), "must not be empty");
            return None;
        }
        let parsed = Template::parse(text).and_then(|t| match t.names_a_task() {
            true => Err(crate::domain::template::TemplateError::TaskOnly),
            false => Ok(t),
        });
        errors.take(&key(field), parsed.map_err(|e| format!("{label}: {e}")))
    };
    let message = template("message", &raw.message, errors);
    let start_message = raw
        .start_message
        .as_deref()
        .map(|t| template("start_message", t, errors));
    let end_message = raw
        .end_message
        .as_deref()
        .map(|t| template("end_message", t, errors));
    let SharedFields {
        id,
        workspace,
        mut timezone,
        pools,
        desktops,
        audience,
        misfire_grace,
        resend_failed,
    } = common;
    // A one-off window that names no zone shows its times in the zone of the offset it was
    // written with, not in daemon.timezone ("22:00+08:00" must not be announced as 14:00).
    if let (None, Some(start), Some(_)) = (&raw.timezone, &raw.start, &timezone) {
        match zone_of_offset(start, default_tz) {
            Ok(Some(zone)) => timezone = Some(zone),
            Ok(None) => {}
            Err(problem) => {
                errors.push(key("timezone"), problem);
                timezone = None;
            }
        }
    }
    Some(WindowSpec {
        workspace: workspace?,
        desktops: desktops?,
        audience: audience?,
        resend_failed: resend_failed?,
        id: id?,
        starts: starts?,
        duration: duration?,
        leads: leads?,
        timezone: timezone?,
        pools: pools?,
        message: message?,
        start_message: start_message.map(|t| t.ok_or(())).transpose().ok()?,
        end_message: end_message.map(|t| t.ok_or(())).transpose().ok()?,
        misfire_grace: misfire_grace?,
        source,
        cancelled: Cancellations::default(),
        paused: false,
        maintenance_mode: raw.maintenance_mode.unwrap_or(false),
        task: None,
    })
}

/// The zone for the offset `start` is written with, when it differs from `default_tz`'s at
/// that instant: `Etc/GMT-8` for `+08:00` (POSIX names count the other way). An offset that is
/// not a whole number of hours has no such zone: the window must name one.
fn zone_of_offset(start: &str, default_tz: Tz) -> Result<Option<Tz>, String> {
    use chrono::{Offset, TimeZone};
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(start.trim()) else {
        return Ok(None); // reported under `start`
    };
    let offset = t.offset().local_minus_utc();
    let default_offset = default_tz
        .offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc();
    if offset == default_offset {
        return Ok(None);
    }
    if offset % 3600 != 0 {
        return Err(format!(
            "the start {start:?} has an offset that is not whole hours and differs from daemon.timezone ({default_tz}): name the zone its times are announced in (e.g. \"Asia/Kolkata\")"
        ));
    }
    let hours = offset / 3600;
    let name = match hours {
        0 => "UTC".to_owned(),
        h => format!("Etc/GMT{:+}", -h),
    };
    name.parse::<Tz>().map(Some).map_err(|_| {
        format!("the start {start:?} has an offset no zone has: name the zone its times are announced in")
    })
}

/// Positive, distinct leads, longest first.
pub(super) fn validate_leads(
    raw: &[String],
    key: &str,
    errors: &mut Errors,
) -> Option<Vec<std::time::Duration>> {
    if raw.is_empty() {
        errors.push(
            key,
            "must list at least one duration, e.g. [\"1h\", \"15m\", \"5m\"]",
        );
        return None;
    }
    let mut leads = BTreeSet::new();
    for (i, lead) in raw.iter().enumerate() {
        let parsed = errors.take(
            &format!("{key}[{i}]"),
            fields::bounded_duration(lead, fields::WINDOW_SPAN),
        )?;
        if !leads.insert(parsed) {
            errors.push(format!("{key}[{i}]"), format!("{lead:?} is listed twice"));
            return None;
        }
    }
    Some(leads.into_iter().rev().collect())
}
