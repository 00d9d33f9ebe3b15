//! `run`: the daemon, with SIGTERM/SIGINT turned into a stop and SIGHUP into a reload.

use std::path::Path;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::{CliError, load_config};
use crate::engine::daemon::{self, Control};
use crate::engine::shutdown::Shutdown;
use crate::platform::clock::Clock;

pub(super) async fn run(config_path: &Path) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    super::term::serving();
    let tls = super::tls_of(&config)?;
    let shutdown = Shutdown::default();
    let (reload_tx, reload_rx) = mpsc::channel(4);
    let (mut term, mut int, mut hup) = (
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
        signal(SignalKind::hangup())?,
    );
    let stop = shutdown.stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the config");
                    let _ = reload_tx.try_send(());
                }
            }
        }
        tracing::info!("stop signal received");
        stop.cancel();
    });
    let control = Control {
        shutdown,
        reload: reload_rx,
        routes: config.api.enabled.then(|| {
            super::api::router(
                config_path.to_owned(),
                tls.is_some(),
                config.api.session_ttl,
            )
        }),
        tls,
    };
    Ok(daemon::serve(config, Clock::system(), control).await?)
}
