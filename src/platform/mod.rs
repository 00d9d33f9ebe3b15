//! What the service needs from the machine: the clock, systemd notifications, the instance
//! registry, file ownership next to the service's, reading secret files, logging, and
//! debug-only fault injection.

pub mod clock;
pub(crate) mod faults;
pub(crate) mod instance;
pub(crate) mod logging;
pub(crate) mod memory;
pub(crate) mod metrics;
pub(crate) mod ownership;
pub(crate) mod secret_file;
pub(crate) mod systemd;
pub(crate) mod tls;
pub(crate) mod token;
