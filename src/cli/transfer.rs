//! `schedule export` and `schedule import`: every database schedule and window in the config
//! file's own syntax (TOML, or JSON with the same keys), and back. An import is validated
//! entry by entry with the file's rules (each error names `schedules[i].key`), and written in
//! one transaction: all or nothing.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::path::Path;

use super::{CliError, failure, invalid};
use crate::config::{Config, Errors, RawResend, RawSchedule, RawWindow};
use crate::domain::schedule::Source;
use crate::engine::catalog;
use crate::store::{StoredSchedule, StoredSelectors, StoredTargets, StoredWindow};

/// A file of `[[schedules]]` and `[[maintenance_windows]]`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Entries {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    schedules: Vec<RawSchedule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    maintenance_windows: Vec<RawWindow>,
}

pub(super) async fn export(config: &Config, json: bool) -> Result<(), CliError> {
    let store = super::open_existing_store(config).await?;
    let entries = Entries {
        schedules: store
            .list_schedules()
            .await?
            .iter()
            .map(catalog::raw_of)
            .collect(),
        maintenance_windows: store
            .list_windows()
            .await?
            .iter()
            .map(catalog::raw_window_of)
            .collect(),
    };
    store.close().await;
    let text = match json {
        true => serde_json::to_string_pretty(&entries).expect("plain values serialize"),
        false => {
            toml::to_string(&entries).map_err(|e| failure(format!("cannot write TOML: {e}")))?
        }
    };
    say!("{}", text.trim_end());
    Ok(())
}

pub(super) async fn import(config: &Config, file: &Path, replace: bool) -> Result<(), CliError> {
    let text = crate::config::read_bounded(file)
        .map_err(|e| invalid("FILE", format!("{}: {e}", file.display())))?;
    let entries: Entries = match text.trim_start().starts_with('{') {
        true => serde_json::from_str(&text)
            .map_err(|e| invalid("FILE", format!("{}: {e}", file.display())))?,
        false => toml::from_str(&text)
            .map_err(|e| invalid("FILE", format!("{}: {e}", file.display())))?,
    };
    let defaults = config.defaults();
    let file_ids: Vec<&str> = config
        .schedules
        .iter()
        .map(|s| s.id.as_str())
        .chain(config.windows.iter().map(|w| w.id.as_str()))
        .collect();
    let mut errors = Errors::default();
    for (i, raw) in entries.schedules.iter().enumerate() {
        let key = |name: &str| format!("schedules[{i}].{name}");
        crate::config::validate_schedule(raw, &key, &defaults, Source::Database, &mut errors);
        if file_ids.contains(&raw.id.as_str()) {
            errors.push(
                key("id"),
                format!("{:?} is defined in the config file", raw.id),
            );
        }
    }
    for (i, raw) in entries.maintenance_windows.iter().enumerate() {
        let key = |name: &str| format!("maintenance_windows[{i}].{name}");
        crate::config::validate_window(raw, &key, &defaults, Source::Database, &mut errors);
        if file_ids.contains(&raw.id.as_str()) {
            errors.push(
                key("id"),
                format!("{:?} is defined in the config file", raw.id),
            );
        }
    }
    if !errors.is_empty() {
        return Err(CliError::Invalid(errors.into_vec()));
    }
    let schedules: Vec<StoredSchedule> = entries.schedules.iter().map(stored_of).collect();
    let windows: Vec<StoredWindow> = entries
        .maintenance_windows
        .iter()
        .map(stored_window_of)
        .collect();
    let store = crate::engine::wiring::open_store(config).await?;
    let written = store
        .import(&schedules, &windows, replace, Utc::now())
        .await?;
    store.close().await;
    match written {
        Ok(done) => {
            super::audit::record(
                config,
                "schedule.import",
                &file.display().to_string(),
                format!(
                    "{} schedule(s), {} window(s), {} replaced",
                    done.schedules, done.windows, done.replaced
                ),
            )
            .await?;
            say!(
                "imported {} schedule(s) and {} window(s){}",
                done.schedules,
                done.windows,
                match done.replaced {
                    0 => String::new(),
                    n => format!(", replacing {n}"),
                }
            );
            Ok(())
        }
        Err(id) => Err(invalid(
            "id",
            format!(
                "{id:?} already exists in the database; nothing was imported (--replace replaces it)"
            ),
        )),
    }
}

/// The inverse of `catalog::raw_of`.
fn stored_of(raw: &RawSchedule) -> StoredSchedule {
    StoredSchedule {
        id: raw.id.clone(),
        cron: raw.cron.clone(),
        at: raw.at.clone(),
        every: raw.every.clone(),
        start: raw.start.clone(),
        timezone: raw.timezone.clone(),
        pools: raw.pools.clone(),
        message: raw.message.clone(),
        misfire_grace: raw.misfire_grace.clone(),
        paused: raw.enabled == Some(false),
        catch_up: raw.catch_up.clone(),
        extra: targets(
            &raw.workspace,
            &raw.desktops,
            raw.resend_failed.as_ref(),
            raw.selectors(),
        ),
    }
}

/// The inverse of `catalog::raw_window_of`.
fn stored_window_of(raw: &RawWindow) -> StoredWindow {
    StoredWindow {
        id: raw.id.clone(),
        start: raw.start.clone(),
        cron: raw.cron.clone(),
        duration: raw.duration.clone(),
        notify_before: raw.notify_before.clone(),
        timezone: raw.timezone.clone(),
        pools: raw.pools.clone(),
        message: raw.message.clone(),
        start_message: raw.start_message.clone(),
        end_message: raw.end_message.clone(),
        misfire_grace: raw.misfire_grace.clone(),
        maintenance_mode: raw.maintenance_mode == Some(true),
        extra: targets(
            &raw.workspace,
            &raw.desktops,
            raw.resend_failed.as_ref(),
            raw.selectors(),
        ),
    }
}

fn targets(
    workspace: &Option<String>,
    desktops: &[String],
    resend: Option<&RawResend>,
    s: crate::config::RawSelectors<'_>,
) -> StoredTargets {
    StoredTargets {
        workspace: workspace.clone(),
        desktops: desktops.to_vec(),
        resend_attempts: resend.map(|r| r.attempts),
        resend_after: resend.map(|r| r.after.clone()),
        selectors: StoredSelectors {
            tags: s.tags.to_vec(),
            enterprise_project: s.enterprise_project.clone(),
            users: s.users.to_vec(),
            all_desktops: s.all_desktops,
            audience: s.audience.clone(),
            max_audience: s.max_audience,
        },
    }
}
