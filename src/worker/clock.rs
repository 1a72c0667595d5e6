//! Time from the JS clock: `std::time::Instant` traps on wasm32.
//!
//! Workers freeze `Date.now()` while code runs and advance it on I/O, which is what the
//! core needs for TTLs, deadlines and latencies. Readings are clamped so they never go back.

use std::cell::Cell;
use std::time::Duration;

use crate::core::ports::Clock;

#[derive(Debug, Clone)]
pub struct JsClock {
    origin_ms: f64,
    last_ms: Cell<f64>,
}

impl JsClock {
    pub fn new() -> Self {
        Self {
            origin_ms: js_sys::Date::now(),
            last_ms: Cell::new(0.0),
        }
    }
}

impl Default for JsClock {
    fn default() -> Self {
        Self::new()
    }
}

fn from_millis(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        Duration::from_secs_f64(ms / 1000.0)
    } else {
        Duration::ZERO
    }
}

impl Clock for JsClock {
    fn unix_time(&self) -> Duration {
        from_millis(js_sys::Date::now())
    }

    fn monotonic(&self) -> Duration {
        let elapsed = (js_sys::Date::now() - self.origin_ms).max(self.last_ms.get());
        self.last_ms.set(elapsed);
        from_millis(elapsed)
    }

    async fn sleep(&self, duration: Duration) {
        // A JS timer (dropping the Delay clears it); none for no wait at all, which a timer
        // would turn into a turn of the event loop.
        if !duration.is_zero() {
            worker::Delay::from(duration).await;
        }
    }
}
