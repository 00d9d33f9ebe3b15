//! Workspace's maintenance mode around windows with `maintenance_mode = true`. At a window's
//! start its desktops (static ones, its pools' and its selectors', listed from Workspace) that
//! are not in maintenance mode already are switched on, in batches; at its end, or as soon as
//! its running occurrence is cancelled, exactly those are switched off. Each switch is a
//! delivery (claimed once, retried, its attempts and result recorded). The switch-off is never
//! skipped: it is derived from the recorded switch-ons, not from the schedule, so after
//! downtime or a crash it happens at the next start, even for a window since removed.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::audiences::list_until;
use super::routes::Routes;
use super::starter::Starter;
use crate::domain::audience::{Desktop, DesktopQuery};
use crate::domain::maintenance::{Cancellations, WindowSpec};
use crate::domain::retry::RetryPolicy;
use crate::domain::time_math::plus;
use crate::domain::{DesktopId, Status, Target};
use crate::platform::clock::Clock;
use crate::store::{NewDelivery, Store, StoreError, SwitchOn};

/// How often windows are looked at: a switch is at most this late.
const TICK: Duration = Duration::from_secs(1);

/// How long a switch-off keeps being retried before it ends failed (and alerts).
const SWITCH_OFF_PATIENCE: Duration = Duration::from_secs(24 * 3600);

/// The windows with `maintenance_mode = true` in force; each schedule change replaces them.
pub(crate) type ModeWindows = watch::Receiver<Vec<Arc<WindowSpec>>>;

pub(crate) struct ModeSwitcher {
    pub store: Store,
    pub routes: Arc<Routes>,
    pub starter: Starter,
    pub clock: Clock,
    pub retry: RetryPolicy,
    pub desktop_batch: usize,
    pub windows: ModeWindows,
}

impl ModeSwitcher {
    /// Switches until `stop`.
    pub(crate) async fn run(self, stop: CancellationToken) {
        let mut done: HashSet<(String, DateTime<Utc>)> = HashSet::new();
        loop {
            if let Err(err) = self.tick(&mut done, &stop).await {
                tracing::error!(error = %err, "cannot record maintenance-mode switches; trying again in a second");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }

    async fn tick(
        &self,
        done: &mut HashSet<(String, DateTime<Utc>)>,
        stop: &CancellationToken,
    ) -> Result<(), StoreError> {
        let windows = self.windows.borrow().clone();
        let now = self.clock.now();
        let running: Vec<(&Arc<WindowSpec>, DateTime<Utc>)> = windows
            .iter()
            .filter_map(|w| w.running_start(now).map(|s| (w, s)))
            .filter(|(w, s)| !done.contains(&(w.id.to_string(), *s)))
            .collect();
        let ons = self.store.switch_ons_to_undo().await?;
        if running.is_empty() && ons.is_empty() {
            return Ok(());
        }
        let cancellations = self.store.cancellations().await?;
        for (window, start) in running {
            // Marked done only once decided and recorded: a database error leaves it to the
            // next tick instead of losing the switch-on.
            let cancelled = cancellations
                .get(window.id.as_str())
                .is_some_and(|c| c.all || c.starts.contains(&start));
            // A window the service comes to after its misfire grace is not switched on late.
            let late = now > plus(start, window.misfire_grace);
            let key = (window.id.as_str(), window.workspace.as_str());
            if cancelled || late || self.store.switched_on(key, start).await? {
                done.insert((window.id.to_string(), start));
                continue;
            }
            let rows = switch_on_rows(
                window,
                start,
                self.list(window, start, stop).await,
                self.desktop_batch,
            );
            let claimed = self.store.claim_deliveries(&rows, &[], now).await?;
            done.insert((window.id.to_string(), start));
            self.starter.start(claimed);
        }
        let rows = switch_off_rows(&ons, &cancellations, now);
        if !rows.is_empty() {
            let claimed = self.store.claim_deliveries(&rows, &[], now).await?;
            self.starter.start(claimed);
        }
        Ok(())
    }

    /// The window's desktops as listed now (retried until its end).
    async fn list(
        &self,
        window: &WindowSpec,
        start: DateTime<Utc>,
        stop: &CancellationToken,
    ) -> Result<Vec<Desktop>, String> {
        let lister = match self.routes.get(window.workspace.as_str()) {
            Some(route) => route.lister(),
            None => Err("its workspace is not in the config"),
        };
        let end = plus(start, window.duration);
        let mut out = Vec::new();
        for (query, by_selector) in queries(window) {
            let listed =
                list_until(lister, &query, (&self.retry, &self.clock, stop), &|| end).await?;
            out.extend(listed.into_iter().filter(|d| {
                !by_selector
                    || window.audience.selector.users.is_empty()
                    || d.users
                        .iter()
                        .any(|u| window.audience.selector.users.contains(u))
            }));
        }
        Ok(out)
    }
}

/// The ListDesktops queries that find a window's desktops, each with whether it is the
/// selectors' (whose user names the API matches loosely, so they are checked exactly).
pub(crate) fn queries(window: &WindowSpec) -> Vec<(DesktopQuery, bool)> {
    let mut out = Vec::new();
    if window.audience.selector.is_set() {
        out.push((window.audience.selector.query(), true));
    }
    if !window.pools.is_empty() {
        let query = DesktopQuery {
            pool_ids: window.pools.iter().map(|p| p.to_string()).collect(),
            ..DesktopQuery::default()
        };
        out.push((query, false));
    }
    for ids in window
        .desktops
        .chunks(crate::domain::audience::DESKTOP_IDS_PER_QUERY)
    {
        let query = DesktopQuery {
            desktop_ids: ids.iter().map(|d| d.to_string()).collect(),
            ..DesktopQuery::default()
        };
        out.push((query, false));
    }
    out
}

/// The switch-on rows of the occurrence starting at `start`: the listed desktops not in
/// maintenance mode already, in batches; when there is nothing to switch (or the listing
/// failed) one row that says why, so the occurrence is recorded either way.
pub(crate) fn switch_on_rows(
    window: &WindowSpec,
    start: DateTime<Utc>,
    listed: Result<Vec<Desktop>, String>,
    batch: usize,
) -> Vec<NewDelivery> {
    let end = plus(start, window.duration);
    let row = |target: Target, status: Status, error_msg: Option<String>| NewDelivery {
        status,
        error_msg,
        // A cancel between claim and start stops it.
        may_be_cancelled: true,
        ..NewDelivery::new(
            (window.id.clone(), window.workspace.clone()),
            target,
            (start, end),
            "maintenance mode on".to_owned(),
        )
    };
    let nothing = |why: String, status: Status| {
        let target = Target::Mode {
            on: true,
            label: "mode-on:none".to_owned(),
            ids: Vec::new(),
        };
        vec![row(target, status, Some(why))]
    };
    let listed = match listed {
        Ok(listed) => listed,
        Err(why) => {
            tracing::error!(window = %window.id, "maintenance mode not switched on: {why}");
            return nothing(
                format!("maintenance mode not switched on: {why}"),
                Status::Failed,
            );
        }
    };
    let mut seen = HashSet::new();
    let (mut ids, mut already) = (Vec::new(), 0usize);
    for desktop in &listed {
        if !seen.insert(desktop.desktop_id.as_str()) {
            continue;
        }
        if desktop.in_maintenance_mode {
            already += 1; // left alone, and so never switched off by us
        } else if let Ok(id) = DesktopId::parse(&desktop.desktop_id) {
            ids.push(id);
        }
    }
    if already > 0 {
        tracing::info!(window = %window.id, desktops = already, "already in maintenance mode: left alone (and left on at the end)");
    }
    if ids.is_empty() {
        return nothing(
            format!(
                "nothing to switch on: {} desktop(s) listed, {already} already in maintenance mode",
                seen.len()
            ),
            Status::Cancelled,
        );
    }
    ids.chunks(batch.max(1))
        .enumerate()
        .map(|(n, chunk)| {
            let target = Target::Mode {
                on: true,
                label: format!("mode-on:{n}"),
                ids: chunk.to_vec(),
            };
            row(target, Status::Pending, None)
        })
        .collect()
}

/// The switch-offs due at `now`: of each switch-on whose window has ended or whose
/// occurrence is cancelled, the same desktops. A switch-off's due time is the window's start
/// (one key, whichever instance or command writes it), so it goes out at once when claimed.
pub(crate) fn switch_off_rows(
    ons: &[SwitchOn],
    cancellations: &HashMap<String, Cancellations>,
    now: DateTime<Utc>,
) -> Vec<NewDelivery> {
    ons.iter()
        .filter_map(|on| {
            let cancelled = cancellations
                .get(on.window.as_str())
                .is_some_and(|c| c.all || c.starts.contains(&on.start));
            if on.end > now && !cancelled {
                return None;
            }
            let why = match cancelled {
                true => "the window was cancelled",
                false => "the window ended",
            };
            let target = Target::Mode {
                on: false,
                label: format!("mode-off:{}", on.id),
                ids: on.target.desktop_ids().to_vec(),
            };
            Some(NewDelivery {
                parent_id: Some(on.id),
                ..NewDelivery::new(
                    (on.window.clone(), on.workspace.clone()),
                    target,
                    (on.start, plus(now.max(on.end), SWITCH_OFF_PATIENCE)),
                    format!("maintenance mode off ({why})"),
                )
            })
        })
        .collect()
}
