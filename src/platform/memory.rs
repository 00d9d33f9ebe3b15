//! Handing memory freed after a large allocation burst back to the system.
//!
//! Reading a config file of 100,000 schedules allocates several times what the schedules then
//! keep. glibc's allocator keeps freed small blocks for reuse instead of returning them, so the
//! daemon's resident size would stay at the parse's peak; `malloc_trim` returns them.

/// Returns the allocator's free memory to the system (glibc only; elsewhere a no-op).
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; no pointer of ours is
    // involved.
    unsafe {
        libc::malloc_trim(0);
    }
}
