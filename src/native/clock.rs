//! The std clock with tokio's timer.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::core::ports::Clock;

#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn unix_time(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    async fn sleep(&self, duration: Duration) {
        // tokio rounds a deadline up to its next millisecond tick, even a deadline of now.
        if !duration.is_zero() {
            tokio::time::sleep(duration).await;
        }
    }
}
