//! Whether the service runs, for `status`: the daemons registered on the store (the lock files
//! next to a SQLite database, the live leases on PostgreSQL).

use super::times::{Natural, shown};
use crate::store::{RunningDaemon, format_time};

/// "service: running (pid 4242 on host-a, since …)" or "service: not running …".
pub(super) fn line(daemons: &[RunningDaemon]) -> String {
    if daemons.is_empty() {
        return "service: not running (no daemon has this database open; messages go out only while it runs)".to_owned();
    }
    let each: Vec<String> = daemons
        .iter()
        .map(|d| {
            let since = d.started_at.map_or(String::new(), |t| {
                format!(", since {}", shown(t, Natural::Machine))
            });
            format!("pid {} on {}{since}", d.pid, d.host)
        })
        .collect();
    format!("service: running ({})", each.join("; "))
}

pub(super) fn json(daemons: &[RunningDaemon]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = daemons
        .iter()
        .map(|d| {
            serde_json::json!({
                "host": d.host, "pid": d.pid, "started_at": d.started_at.map(format_time),
            })
        })
        .collect();
    serde_json::json!({ "running": !daemons.is_empty(), "daemons": list })
}
