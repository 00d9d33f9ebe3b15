//! One log line per occurrence: when every delivery of a schedule's occurrence (one per pool or
//! desktop batch) has ended, `occurrence friday-logoff at ...: sent 998/1000, failed 2` at info
//! (warn if any did not go out). Per-delivery `sent` lines are at debug, failures at error: a
//! thousand deliveries a second stay far under journald's rate limit, and `journalctl -p err`
//! shows every failure.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

use super::delivery::Outcome;
use crate::domain::{ScheduleId, WorkspaceName};
use crate::platform::metrics;
use crate::store::{StoreError, format_time};

pub(super) struct OccurrenceTally {
    schedule_id: ScheduleId,
    workspace: WorkspaceName,
    due_at: DateTime<Utc>,
    total: usize,
    ended: Mutex<BTreeMap<&'static str, usize>>,
}

impl OccurrenceTally {
    pub(super) fn new(
        (schedule_id, workspace): (ScheduleId, WorkspaceName),
        due_at: DateTime<Utc>,
        total: usize,
    ) -> Self {
        Self {
            schedule_id,
            workspace,
            due_at,
            total,
            ended: Mutex::new(BTreeMap::new()),
        }
    }

    /// One more delivery belongs to this occurrence.
    pub(super) fn add_one(&mut self) {
        self.total += 1;
    }

    /// Counts one delivery's end; the last one logs the summary.
    pub(super) fn record(&self, outcome: &Result<Outcome, StoreError>) {
        let label = match outcome {
            Ok(Outcome::Sent { .. }) => "sent",
            Ok(Outcome::DryRun) => "dry_run",
            Ok(Outcome::Failed { .. }) => "failed",
            Ok(Outcome::LeftPending) => "pending",
            Ok(Outcome::AlreadyDone) => "ended_elsewhere",
            Err(_) => "unrecorded",
        };
        metrics::delivery_ended(self.schedule_id.as_str(), self.workspace.as_str(), label);
        if label == "sent" {
            metrics::last_success(self.schedule_id.as_str(), Utc::now());
        }
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        *ended.entry(label).or_default() += 1;
        if ended.values().sum::<usize>() < self.total {
            return;
        }
        let ok = ended
            .get("sent")
            .or(ended.get("dry_run"))
            .copied()
            .unwrap_or(0);
        let good = ended.keys().all(|k| matches!(*k, "sent" | "dry_run"));
        let mut parts: Vec<String> = Vec::new();
        for (label, n) in ended.iter() {
            parts.push(match *label {
                "sent" | "dry_run" => format!("{label} {n}/{}", self.total),
                other => format!("{other} {n}"),
            });
        }
        let summary = parts.join(", ");
        let (schedule_id, workspace) = (&self.schedule_id, &self.workspace);
        let due_at = format_time(self.due_at);
        match good {
            true => {
                tracing::info!(%schedule_id, %workspace, due_at, ok, "occurrence done: {summary}")
            }
            false => {
                tracing::warn!(%schedule_id, %workspace, due_at, ok, "occurrence done: {summary}")
            }
        }
    }
}
