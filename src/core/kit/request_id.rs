//! Short unique ids for responses and log lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// An instance prefix taken from the start time, then a counter.
pub struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    pub fn new(now: Duration) -> Self {
        Self {
            prefix: (now.as_nanos() as u64 ^ (now.as_secs() << 20)) as u32,
            next: AtomicU64::new(1),
        }
    }

    pub fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n:x}", self.prefix)
    }
}
