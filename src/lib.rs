//! workspace-notifier: scheduled notifications to Huawei Cloud Workspace desktop pools.
//!
//! # Layout
//!
//! ```text
//! config / store (schedules) ──> schedule ──> scheduler ──> delivery ──> workspace
//!      load + validate           next fire    timer heap    claim,       sign + POST
//!                                (pure)                     attempt,     (HTTP only)
//!                                                           retry ──> store (SQLite)
//! ```
//!
//! `retry` (the decision) and `workspace::signer` are pure; `setup` builds the parts from a
//! config; `cli` is the command line and `main.rs` only calls it.

pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod domain;
pub mod faults;
pub mod instance;
pub mod logging;
pub mod notify;
pub mod retry;
pub mod schedule;
pub mod scheduler;
pub mod setup;
pub mod store;
pub mod template;
pub mod time_math;
pub mod window;
pub mod workspace;
