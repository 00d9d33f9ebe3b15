//! workspace-notifier: scheduled notifications to Huawei Cloud Workspace desktop pools.
//!
//! # Layout
//!
//! ```text
//! config/ ─┐                          ┌──> workspace/   sign + send (HTTP only)
//! store/  ─┴─> engine/catalog ─> engine/scheduler ─> engine/delivery ─┤
//!  (schedules)   merge, expand     timer heap,        attempt, retry  └──> store/  records
//!                windows           claims             decision
//! ```
//!
//! - `domain/`: pure values (ids, status, triggers, schedules and their content, maintenance
//!   windows, templates, the retry decision); imports nothing else of the crate.
//! - `config/`: the file and environment, raw → validated. `store/`: all SQL.
//!   `workspace/`: the HTTP client and signer. `platform/`: clock, systemd, logging.
//! - `engine/`: catalog, scheduler, delivery, daemon, wiring; `cli/`: one file per command.
//!   `main.rs` only calls [`cli::main`]. docs/architecture.md has the full picture.

pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod platform;
pub mod store;
pub mod workspace;
