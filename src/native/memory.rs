//! Giving freed memory back to the system. A sweep reads the whole stock through large
//! transient buffers (portal answers, their parsed rows, the growing table); glibc keeps what
//! they freed in its arenas, so without this a process holds several times the table's size.
//! The same goes for a peak of concurrent requests (slow portal answers holding many misses at
//! once): the 10-minute soak saw RSS step up by 2-3 MiB after such a peak and stay there, so the
//! local server also gives memory back on a timer ([`keep_trimmed`]).

use std::time::Duration;

/// How often the local server gives freed memory back (a trim is a handful of `madvise`
/// calls of microseconds each).
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Returns the allocator's free memory to the system (glibc on Linux; elsewhere nothing).
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases memory the allocator holds free; it touches no
    // memory in use and may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Gives freed memory back every `every`, for as long as the task runs.
pub async fn keep_trimmed(every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        release_free();
    }
}
