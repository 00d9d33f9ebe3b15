//! systemd notifications (`sd_notify`): READY, STATUS, WATCHDOG, RELOADING, STOPPING. Without
//! `NOTIFY_SOCKET` every call is a no-op, so the daemon runs the same outside systemd.

use sd_notify::NotifyState;
use std::time::Duration;

/// Sends one set of states; failures are logged, never fatal (systemd may be gone on stop).
fn send(states: &[NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        tracing::warn!(error = %err, "cannot notify systemd");
    }
}

pub(crate) fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub(crate) fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

pub(crate) fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// `RELOADING=1` with `MONOTONIC_USEC`, as `Type=notify-reload` expects.
pub(crate) fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

pub(crate) fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// How often to ping: half the watchdog timeout, if systemd set one for this process.
pub(crate) fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}
