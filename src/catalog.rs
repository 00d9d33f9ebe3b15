//! Where the running schedule set comes from: the config file and the database, merged.
//! Database schedules are validated with the same rules as the file's; an id the file uses
//! wins over a database row with the same id (the CLI refuses to create one, but a file can
//! gain an id later).

use chrono_tz::Tz;
use std::collections::HashSet;

use crate::config::{Errors, RawSchedule, validate_schedule};
use crate::schedule::{ScheduleSpec, Source};
use crate::store::{Store, StoreError, StoredSchedule};

/// The `[[schedules]]`-shaped view of a stored schedule.
pub fn raw_of(stored: &StoredSchedule) -> RawSchedule {
    RawSchedule {
        id: stored.id.clone(),
        cron: stored.cron.clone(),
        at: stored.at.clone(),
        every: stored.every.clone(),
        start: stored.start.clone(),
        timezone: stored.timezone.clone(),
        pools: stored.pools.clone(),
        message: stored.message.clone(),
        misfire_grace: stored.misfire_grace.clone(),
        enabled: Some(!stored.paused),
    }
}

/// Validates database schedules. Rows that break a rule (edited by hand?) or reuse a file id
/// are left out and described in the returned problems, so one bad row never stops the rest.
pub fn database_specs(
    stored: &[StoredSchedule],
    default_tz: Tz,
    file_ids: &HashSet<String>,
) -> (Vec<ScheduleSpec>, Vec<String>) {
    let mut specs = Vec::new();
    let mut problems = Vec::new();
    for row in stored {
        if file_ids.contains(&row.id) {
            problems.push(format!(
                "database schedule {:?} is ignored: the config file defines the same id",
                row.id
            ));
            continue;
        }
        let mut errors = Errors::default();
        let key = |name: &str| format!("database schedule {:?}: {name}", row.id);
        match validate_schedule(
            &raw_of(row),
            &key,
            default_tz,
            Source::Database,
            &mut errors,
        ) {
            Some(spec) if errors.is_empty() => specs.push(spec),
            _ => problems.extend(errors.0.iter().map(ToString::to_string)),
        }
    }
    (specs, problems)
}

/// File schedules plus valid database schedules.
pub async fn all_schedules(
    file: &[ScheduleSpec],
    default_tz: Tz,
    store: &Store,
) -> Result<(Vec<ScheduleSpec>, Vec<String>), StoreError> {
    let file_ids: HashSet<String> = file.iter().map(|s| s.id.to_string()).collect();
    let (db, problems) = database_specs(&store.list_schedules().await?, default_tz, &file_ids);
    let mut all = file.to_vec();
    all.extend(db);
    Ok((all, problems))
}
