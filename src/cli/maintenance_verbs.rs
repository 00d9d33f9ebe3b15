//! `maintenance show / uncancel / remove`: one window as the daemon runs it, undoing a cancel,
//! and removing a database window.

use chrono::Utc;

use super::render::{print_window, window_json};
use super::{CliError, failure, invalid};
use crate::config::Config;
use crate::domain::schedule::Source;

pub(super) async fn show(config: &Config, id: &str, json: bool) -> Result<(), CliError> {
    if json {
        super::term::json_only();
    }
    let store = super::open_existing_store(config).await?;
    let (catalog, states) = super::load_catalog(config, &store).await?;
    store.close().await;
    let Some(window) = catalog.windows.iter().find(|w| w.id.as_str() == id) else {
        return Err(failure(format!(
            "no maintenance window {id:?} (see `maintenance list`)"
        )));
    };
    let now = Utc::now();
    if json {
        super::json::print(&window_json(window, now, 4, &states));
        return Ok(());
    }
    print_window(window, now, 4, &states);
    let cancelled: Vec<String> = window
        .cancelled
        .starts
        .iter()
        .map(|s| s.with_timezone(&window.timezone).to_rfc3339())
        .collect();
    if !cancelled.is_empty() {
        say!("  cancelled occurrences: {}", cancelled.join(", "));
    }
    Ok(())
}

pub(super) async fn uncancel(config: &Config, id: &str) -> Result<(), CliError> {
    let store = crate::engine::wiring::open_store(config).await?;
    let (catalog, _) = super::load_catalog(config, &store).await?;
    if !catalog.windows.iter().any(|w| w.id.as_str() == id) {
        return Err(failure(format!(
            "no maintenance window {id:?} (see `maintenance list`)"
        )));
    }
    let undone = store.uncancel_window(id, Utc::now()).await?;
    store.close().await;
    match undone {
        0 => Err(failure(format!(
            "window {id:?} has no cancellation of an occurrence still ahead"
        ))),
        n => {
            say!(
                "uncancelled window {id} ({n} cancellation(s) removed); its messages go out again"
            );
            Ok(())
        }
    }
}

pub(super) async fn remove(config: &Config, id: &str) -> Result<(), CliError> {
    if config
        .windows
        .iter()
        .any(|w| w.id.as_str() == id && w.source == Source::File)
    {
        return Err(invalid(
            "id",
            format!(
                "window {id:?} is defined in the config file {}; edit the file and reload the daemon (systemctl reload workspace-notifier)",
                config.path.display()
            ),
        ));
    }
    let store = crate::engine::wiring::open_store(config).await?;
    let removed = store.delete_window(id).await?;
    store.close().await;
    match removed {
        true => {
            say!("removed window {id}; its delivery history is kept (`history --schedule {id}`)");
            Ok(())
        }
        false => Err(failure(format!(
            "no database window {id:?} (see `maintenance list`)"
        ))),
    }
}
