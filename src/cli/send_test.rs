//! `send --test ID --desktop D`: the next message of a schedule, window or task warning rule,
//! rendered as it will be sent, sent now to the given desktops only, recorded under its own
//! `schedule_id` (`test:ID`), so it is neither the schedule's last occurrence nor an alert.

use chrono::Utc;

use super::{CliError, failure, invalid};
use crate::config::Config;
use crate::domain::{DesktopId, ScheduleId, Target};
use crate::engine::immediate;

/// What `report` needs: the deliveries made and the workspace they went to.
pub(super) struct TestSend {
    pub done: Vec<immediate::Delivered>,
    pub workspace: crate::domain::WorkspaceName,
}

pub(super) async fn send(
    config: &Config,
    id: &str,
    desktops: &[String],
) -> Result<TestSend, CliError> {
    let ids = desktops
        .iter()
        .map(|d| DesktopId::parse(d).map_err(|e| invalid("--desktop", format!("{e}, got {d:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let store = crate::engine::wiring::open_store(config).await?;
    let (catalog, states) = super::load_catalog(config, &store).await?;
    store.close().await;
    let now = Utc::now();
    // A window (or task warning rule) is several schedules: its next message is the earliest.
    let next = catalog
        .specs()
        .into_iter()
        .filter(|s| s.record_as.as_str() == id)
        .filter_map(|spec| {
            let state = states.get(spec.id.as_str());
            let due = spec
                .next_fires(
                    state.and_then(|s| s.last_due_at),
                    state.map_or(now, |s| s.anchor_at),
                    now,
                    1,
                )
                .first()
                .copied()?;
            Some((due, spec))
        })
        .min_by_key(|(due, _)| *due);
    let Some((due, spec)) = next else {
        return Err(failure(format!(
            "{id:?} is no schedule, window or task warning rule with a next message (see `agenda`)"
        )));
    };
    let (text, _) = spec.content.occurrence(due, config.retry.max_elapsed);
    say!(
        "test of {id}: its next message (due {}), to {} desktop(s) now",
        crate::store::format_time(due),
        ids.len()
    );
    let test_id = ScheduleId::parse(&format!("test:{id}"))
        .map_err(|e| invalid("--test", format!("{e}, got {id:?}")))?;
    let targets = Target::desktop_batches("desktops:", &ids, config.jobs.desktop_batch);
    let done = immediate::deliver_now(
        config,
        (test_id, spec.workspace.clone()),
        &targets,
        immediate::Outgoing {
            text,
            ..Default::default()
        },
    )
    .await?;
    Ok(TestSend {
        done,
        workspace: spec.workspace.clone(),
    })
}
