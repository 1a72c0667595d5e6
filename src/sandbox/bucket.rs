//! The portal's request-rate limiter: a leaky bucket per portal.

use std::time::Instant;

/// The counter grows by one per request and drains at `drain_per_sec`; a request that would
/// take it past `burst` is refused with `QUERY_LIMIT_EXCEEDED` (and not counted).
#[derive(Debug)]
pub struct LeakyBucket {
    drain_per_sec: f64,
    burst: f64,
    level: f64,
    updated: Instant,
}

impl LeakyBucket {
    pub fn new(drain_per_sec: f64, burst: f64) -> Self {
        Self {
            drain_per_sec,
            burst,
            level: 0.0,
            updated: Instant::now(),
        }
    }

    /// Counts one request; false when it must be refused.
    pub fn admit(&mut self) -> bool {
        let now = Instant::now();
        let drained = now.duration_since(self.updated).as_secs_f64() * self.drain_per_sec;
        self.level = (self.level - drained).max(0.0);
        self.updated = now;
        if self.level + 1.0 > self.burst {
            return false;
        }
        self.level += 1.0;
        true
    }

    pub fn reset(&mut self) {
        self.level = 0.0;
        self.updated = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_burst() {
        let mut bucket = LeakyBucket::new(0.001, 50.0);
        assert!((0..50).all(|_| bucket.admit()));
        assert!(!bucket.admit());
        bucket.reset();
        assert!(bucket.admit());
    }
}
