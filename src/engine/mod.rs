//! The running service: the catalog of schedules, the timer heap, deliveries, the daemon and
//! the wiring that builds them from a config.

pub mod catalog;
pub mod daemon;
pub mod delivery;
pub mod immediate;
pub mod scheduler;
pub mod shutdown;
pub mod wiring;
