//! Re-sending to the desktops that did not get a notification: by hand (`resend`) or, for
//! schedules and windows that opt in (`resend_failed`), automatically after the job's result.
//! A re-send is its own delivery, linked to the original (`parent_id`), claimed, retried,
//! followed and recorded like any other, and never due after the original's deadline.

use chrono::{DateTime, Utc};

use crate::domain::job::Recipient;
use crate::domain::time_math::plus;
use crate::domain::{DesktopId, Status, Target};
use crate::store::{NewDelivery, ResendPolicy, ResendSource, Store, StoreError};

/// The desktops whose sub-job did not succeed.
pub(crate) fn failed_desktops(recipients: &[Recipient]) -> Vec<DesktopId> {
    recipients
        .iter()
        .filter(|r| r.failed())
        .filter_map(|r| DesktopId::parse(&r.desktop_id).ok())
        .collect()
}

/// Where a re-send of `parent_id` goes: `failed` in batches of `batch` (`resend:<parent>:<n>`).
pub(crate) fn resend_targets(parent_id: i64, failed: &[DesktopId], batch: usize) -> Vec<Target> {
    Target::desktop_batches(&format!("resend:{parent_id}:"), failed, batch)
}

/// The deliveries that re-send `source`'s text to `failed`, in batches of `batch`, due at
/// `due`, with `deadline`. `left`: automatic re-sends the new deliveries still allow.
pub(crate) fn resend_deliveries(
    parent_id: i64,
    source: &ResendSource,
    failed: &[DesktopId],
    (due, deadline): (DateTime<Utc>, DateTime<Utc>),
    batch: usize,
    left: Option<ResendPolicy>,
) -> Vec<NewDelivery> {
    resend_targets(parent_id, failed, batch)
        .into_iter()
        .map(|target| NewDelivery {
            schedule_id: source.schedule_id.clone(),
            workspace: source.workspace.clone(),
            target,
            parent_id: Some(parent_id),
            resend: left,
            due_at: due,
            deadline_at: deadline,
            message: source.message.clone(),
            countdown: source.countdown.clone(),
            status: Status::Pending,
            error_msg: None,
            // A cancelled maintenance window cancels its re-sends too.
            may_be_cancelled: true,
            audience: None,
            workspace_task: None,
        })
        .collect()
}

/// Automatic re-sends in the daemon: claims them and runs them as tracked deliveries (each
/// waits for its due time).
pub(crate) struct ResendRunner {
    pub store: Store,
    /// Starts the re-sends like any claimed delivery (tracked, and known as carried).
    pub starter: super::starter::Starter,
    pub desktop_batch: usize,
}

impl ResendRunner {
    /// After a job ended: if some desktops did not get it and the delivery allows an
    /// automatic re-send, one goes out `after` from `now` — unless that is past the
    /// original's deadline (a countdown warning is never re-sent late).
    pub(crate) async fn after_job(
        &self,
        delivery_id: i64,
        recipients: &[Recipient],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let failed = failed_desktops(recipients);
        if failed.is_empty() {
            return Ok(());
        }
        let Some(source) = self.store.resend_source(delivery_id).await? else {
            return Ok(());
        };
        let (Some(after), true) = (source.resend_after, source.resend_left > 0) else {
            return Ok(());
        };
        let due = plus(now, after);
        if due >= source.deadline_at {
            tracing::info!(
                delivery_id,
                failed = failed.len(),
                "no automatic re-send: it would be due after the delivery's deadline"
            );
            return Ok(());
        }
        let left = (source.resend_left > 1).then_some(ResendPolicy {
            left: source.resend_left - 1,
            after,
        });
        let batch = resend_deliveries(
            delivery_id,
            &source,
            &failed,
            (due, source.deadline_at),
            self.desktop_batch,
            left,
        );
        let claimed = self.store.claim_deliveries(&batch, &[], now).await?;
        tracing::info!(
            delivery_id,
            desktops = failed.len(),
            deliveries = claimed.len(),
            in_s = after.as_secs(),
            "automatic re-send to the desktops that did not get it"
        );
        self.starter.start(claimed);
        Ok(())
    }
}
