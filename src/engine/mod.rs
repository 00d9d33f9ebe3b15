//! The running service: the catalog of schedules, the timer heap, deliveries, the daemon and
//! the wiring that builds them from a config.

mod attempt;
pub(crate) mod audiences;
pub(crate) mod catalog;
mod clock_watch;
mod command_counts;
pub mod daemon;
pub mod delivery;
mod health;
pub(crate) mod immediate;
pub mod jobs;
mod listener;
mod listings;
pub(crate) mod maintenance_mode;
pub(crate) mod membership;
mod occurrence;
mod occurrence_rows;
pub(crate) mod resend;
mod retention;
pub mod routes;
pub(crate) mod scheduler;
pub mod shutdown;
mod starter;
pub(crate) mod task_plan;
pub mod wiring;
mod workspace_tasks;
