//! Giving freed memory back to the system. A sweep reads the whole stock through large
//! transient buffers (portal answers, their parsed rows, the growing table); glibc keeps what
//! they freed in its arenas, so without this a process holds several times the table's size.

/// Returns the allocator's free memory to the system (glibc on Linux; elsewhere nothing).
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases memory the allocator holds free; it touches no
    // memory in use and may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
