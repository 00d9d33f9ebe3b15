//! Integration tests: the real binary and library against a fake Workspace server on
//! 127.0.0.1 that verifies every signature, and a fresh SQLite file per test.

mod agenda;
mod api;
mod audience;
mod audience_cli;
mod audience_daemon;
mod bad_input;
mod browser;
mod cli;
mod console;
mod corrupt;
mod daemon;
mod downtime;
mod faults;
mod grafana;
mod ha;
mod helpers;
mod jobs;
mod json_shapes;
mod logs;
mod maintenance;
mod maintenance_mode;
mod maintenance_verbs;
mod metrics;
mod migrations;
mod pause;
mod resend;
mod retention;
mod schedules;
mod schema;
mod send;
mod send_test;
mod soak;
mod status;
mod systemd;
mod throttle;
mod times;
mod transfer;
mod web;
mod workspace_tasks;
mod workspaces;

#[path = "../support/mod.rs"]
mod support;
use support::fake;
