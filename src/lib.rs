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

pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod platform;
pub mod store;
pub mod workspace;
