//! Fault injection for the integration tests, compiled only with the `faults` feature, which only the
//! test build turns on (other builds ignore the variable): `WORKSPACE_NOTIFIER_FAULT_PANIC=PLACE` makes the engine task at PLACE
//! panic, so a test can show that a panic in any task ends the process (see `cli::main`)
//! instead of leaving a half-alive daemon. Places: `delivery`.

/// Panics if the tests asked for a panic at `place`.
#[cfg(feature = "faults")]
pub(crate) fn panic_point(place: &str) {
    if std::env::var("WORKSPACE_NOTIFIER_FAULT_PANIC").is_ok_and(|p| p == place) {
        panic!("injected fault: panic at {place}");
    }
}

#[cfg(not(feature = "faults"))]
pub(crate) fn panic_point(_place: &str) {}
