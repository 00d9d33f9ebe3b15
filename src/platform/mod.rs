//! What the service needs from the machine: the clock, systemd notifications, the instance
//! registry, logging, and debug-only fault injection.

pub mod clock;
pub mod faults;
pub mod instance;
pub mod logging;
pub mod systemd;
