//! Fault injection for the integration tests, compiled into debug builds only (release builds
//! ignore the variable): `WORKSPACE_NOTIFIER_FAULT_PANIC=PLACE` makes the engine task at PLACE
//! panic, so a test can show that a panic in any task ends the process (see `cli::main`)
//! instead of leaving a half-alive daemon. Places: `delivery`.

/// Panics if the tests asked for a panic at `place`.
#[cfg(debug_assertions)]
pub fn panic_point(place: &str) {
    if std::env::var("WORKSPACE_NOTIFIER_FAULT_PANIC").is_ok_and(|p| p == place) {
        panic!("injected fault: panic at {place}");
    }
}

#[cfg(not(debug_assertions))]
pub fn panic_point(_place: &str) {}
