//! Instances sharing a PostgreSQL store: each keeps a row with a lease it renews by
//! heartbeat. A pending delivery whose owner's lease has run out may be taken over by a live
//! instance. Lease times are the database server's clock, so hosts' clocks need not agree.
//! (SQLite is one host: there a lock file per instance says the same thing at once, see
//! `platform::instance`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Claimed, Store, StoreError};

/// What this process knows of its own lease without asking: when the last renewal that
/// succeeded was sent. While less than the lease (less a second) has passed since, on the
/// monotonic clock (which keeps counting while the process is stopped), the lease has not
/// run out, so no other instance can have taken over a delivery this one owns. Once the
/// lease has been found lapsed, deliveries claimed before may belong to others: from then
/// on the database is asked every time.
#[derive(Debug)]
pub(crate) struct LeaseGuard {
    base: Instant,
    /// Milliseconds after `base` of the last renewal sent that succeeded; 0: none yet.
    renewed_ms: AtomicU64,
    lapsed: std::sync::atomic::AtomicBool,
    lease: Duration,
}

impl LeaseGuard {
    pub(crate) fn new(lease: Duration) -> Arc<LeaseGuard> {
        Arc::new(LeaseGuard {
            base: Instant::now(),
            renewed_ms: AtomicU64::new(0),
            lapsed: std::sync::atomic::AtomicBool::new(false),
            lease,
        })
    }

    pub(crate) fn lease(&self) -> Duration {
        self.lease
    }

    /// The lease was found lapsed (and made again): never vouch again.
    pub(crate) fn lapsed(&self) {
        self.lapsed.store(true, Ordering::Relaxed);
    }

    /// Call with the instant the renewal was sent, once it succeeded.
    pub(crate) fn renewed(&self, sent: Instant) {
        let ms = sent.saturating_duration_since(self.base).as_millis() as u64 + 1;
        self.renewed_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn surely_valid(&self) -> bool {
        if self.lapsed.load(Ordering::Relaxed) {
            return false;
        }
        match self.renewed_ms.load(Ordering::Relaxed) {
            0 => false,
            ms => {
                let renewed = self.base + Duration::from_millis(ms - 1);
                renewed.elapsed() + Duration::from_secs(1) < self.lease
            }
        }
    }
}

impl Store {
    /// Registers instance `id` (or renews its row) with a lease of `lease` from now. Returns
    /// false if the row was gone and had to be made again: the lease had lapsed meanwhile, and
    /// other instances may have taken over this one's deliveries.
    pub(super) async fn renew_lease(
        &self,
        id: &str,
        (host, role): (&str, super::Role),
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let ms = lease.as_millis() as i64;
        let renewed = sqlx::query(
            "UPDATE instances SET heartbeat_at = clock_timestamp(),
                    lease_until = clock_timestamp() + $2 * interval '1 millisecond'
             WHERE id = $1 AND lease_until > clock_timestamp()",
        )
        .bind(id)
        .bind(ms)
        .execute(&self.pool)
        .await?;
        if renewed.rows_affected() == 1 {
            return Ok(true);
        }
        sqlx::query(
            "INSERT INTO instances (id, host, pid, lease_until, kind)
             VALUES ($1, $2, $3, clock_timestamp() + $4 * interval '1 millisecond', $5)
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp(),
                    lease_until = excluded.lease_until",
        )
        .bind(id)
        .bind(host)
        .bind(i64::from(std::process::id()))
        .bind(ms)
        .bind(role.as_str())
        .execute(&self.pool)
        .await?;
        Ok(false)
    }

    /// The service's instances whose lease has not run out.
    pub(super) async fn leased_daemons(&self) -> Result<Vec<super::RunningDaemon>, StoreError> {
        let rows = sqlx::query(
            "SELECT host, pid, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS started
             FROM instances WHERE kind = 'daemon' AND lease_until > clock_timestamp() ORDER BY started_at",
        )
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(|row| {
            let c = super::cells::Cells::new("instances", row);
            Ok(super::RunningDaemon {
                host: c.get("host")?,
                pid: c.get("pid")?,
                started_at: Some(c.time("started")?),
            })
        }))
    }

    /// The id of the longest running instance of the service whose lease has not run out.
    pub(super) async fn first_daemon(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM instances WHERE kind = 'daemon' AND lease_until > clock_timestamp()
             ORDER BY started_at, id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Removes this instance's row at a clean stop: what it leaves pending is taken over at
    /// once instead of after its lease.
    pub(super) async fn release_lease(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM instances WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Pending deliveries whose owner's lease ran out more than `grace` ago (crashed, paused,
    /// cut off), or who has no row at all, oldest first. `grace` covers an attempt the owner
    /// started just before its lease ended: it is over (timed out at worst) before the grace
    /// is, so a taker never sends while the old owner's request may still be in flight.
    /// Also this handle's own pending rows: the caller skips those it is still carrying (one
    /// whose task ended on a database error is resumed this way).
    pub(super) async fn orphaned_deliveries(
        &self,
        grace: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, schedule_id, workspace, pool_id, target, desktop_ids, maintenance_mode, due_at, deadline_at, message, attempts, claimed_by, countdown_to, countdown_text
             FROM deliveries d WHERE status = 'pending'
               AND (d.claimed_by = $2 OR NOT EXISTS (SELECT 1 FROM instances i
                               WHERE i.id = d.claimed_by
                                 AND i.lease_until + $1 * interval '1 millisecond' > clock_timestamp()))
             ORDER BY due_at, id",
        )
        .bind(grace.as_millis() as i64)
        .bind(self.owner.as_deref())
        .fetch_all(&self.pool)
        .await?;
        self.readable(rows.iter().map(super::rows::claimed_from_row))
    }

    /// True while this handle's instance still owns the pending delivery `id` under a live
    /// lease: checked right before each attempt, so an instance that was paused or cut off
    /// past its lease does not send what another one took over. Without a lease (SQLite, one
    /// host) a running owner is never taken over, so there is nothing to check.
    /// While this process's own lease is surely valid ([`LeaseGuard`]), nobody can have
    /// taken its deliveries over, and the database is not asked.
    pub async fn still_owns(&self, id: i64) -> Result<bool, StoreError> {
        match &self.lease {
            None => return Ok(true),
            Some(guard) if guard.surely_valid() || self.owner.is_none() => return Ok(true),
            Some(_) => {}
        }
        let owns: Option<i64> = sqlx::query_scalar(
            "SELECT d.id FROM deliveries d JOIN instances i ON i.id = d.claimed_by
             WHERE d.id = $1 AND d.status = 'pending' AND d.claimed_by = $2
               AND i.lease_until > clock_timestamp()",
        )
        .bind(id)
        .bind(self.owner.as_deref())
        .fetch_optional(&self.pool)
        .await?;
        Ok(owns.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_vouches_only_for_a_recent_continuous_lease() {
        let guard = LeaseGuard::new(Duration::from_secs(15));
        assert!(!guard.surely_valid(), "no renewal yet");
        guard.renewed(Instant::now());
        assert!(guard.surely_valid());
        let old = LeaseGuard::new(Duration::from_secs(3));
        old.renewed(old.base);
        std::thread::sleep(Duration::from_millis(2100));
        assert!(
            !old.surely_valid(),
            "renewed longer ago than the lease less a second"
        );
        guard.lapsed();
        guard.renewed(Instant::now());
        assert!(!guard.surely_valid(), "a lapse is never forgotten");
    }
}
