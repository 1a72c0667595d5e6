//! The portal's operating-time limit: each method may use only so much server time per ten
//! minutes, then it is blocked. Answers report the time used (`time.operating`) and when the
//! oldest minute drops out (`time.operating_reset_at`); we stop calling a method before its
//! block and resume at the reset time. The portal counts per method, and so does the guard: a
//! paused list method leaves record reads running.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::core::kit::lock::lock;

use crate::core::portal::envelope::OperatingTime;

/// Stop at this share of the limit: the call that crosses the limit still runs, so leave room.
const PAUSE_AT: f64 = 0.9;
/// Without a reset time, look again after this long.
const PAUSE_WITHOUT_RESET: Duration = Duration::from_secs(60);
/// The portal's block lasts about ten minutes.
const BLOCK_WITHOUT_RESET: Duration = Duration::from_secs(600);

#[derive(Debug)]
pub struct OperatingGuard {
    limit_secs: f64,
    /// Until when each paused method rests (Unix time).
    paused_until: Mutex<HashMap<&'static str, Duration>>,
}

impl OperatingGuard {
    pub fn new(limit_secs: f64) -> Self {
        Self {
            limit_secs,
            paused_until: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` while `method` is paused; `unix_now` is wall-clock time.
    pub fn check(&self, method: &'static str, unix_now: Duration) -> Result<(), u64> {
        let mut paused = lock(&self.paused_until);
        match paused.get(method) {
            Some(until) if unix_now < *until => {
                Err((*until - unix_now).as_secs_f64().ceil() as u64)
            }
            Some(_) => {
                paused.remove(method);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Pauses `method` until `until` (Unix time), as another instance learnt it; never longer
    /// than the portal's block.
    pub fn adopt(&self, method: &'static str, until: Duration, unix_now: Duration) {
        let until = until.min(unix_now + BLOCK_WITHOUT_RESET);
        if until <= unix_now {
            return;
        }
        let mut paused = lock(&self.paused_until);
        let entry = paused.entry(method).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Learns from an answer of `method`. `blocked` is true when the portal answered
    /// `OPERATION_TIME_LIMIT`. Answers the end of a pause it began or lengthened.
    pub fn observe(
        &self,
        method: &'static str,
        time: OperatingTime,
        blocked: bool,
        unix_now: Duration,
    ) -> Option<Duration> {
        // The portal's block lasts about ten minutes: a reset time further out (a bogus value,
        // or one in milliseconds) must not pause the gateway longer than that.
        let reset_at = time
            .reset_at_unix
            .filter(|r| *r > 0)
            .map(|r| Duration::from_secs(r as u64))
            .filter(|r| *r > unix_now)
            .map(|r| r.min(unix_now + BLOCK_WITHOUT_RESET));
        let near_limit = time
            .operating_secs
            .is_some_and(|used| used >= self.limit_secs * PAUSE_AT);
        let until = if blocked {
            reset_at.unwrap_or(unix_now + BLOCK_WITHOUT_RESET)
        } else if near_limit {
            reset_at.unwrap_or(unix_now + PAUSE_WITHOUT_RESET)
        } else {
            return None;
        };
        let mut paused = lock(&self.paused_until);
        if paused.get(method).is_some_and(|p| *p >= until) {
            return None;
        }
        tracing::warn!(
            method,
            operating_secs = time.operating_secs,
            pause_secs = (until - unix_now).as_secs(),
            "portal operating-time limit near: pausing this method until the reset time"
        );
        paused.insert(method, until);
        Some(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_000_000);
    const GET: &str = "catalog.storeproduct.get";
    const LIST: &str = "catalog.storeproduct.list";

    fn time(used: f64, reset: Option<i64>) -> OperatingTime {
        OperatingTime {
            operating_secs: Some(used),
            reset_at_unix: reset,
        }
    }

    #[test]
    fn pauses_near_the_limit_until_the_reset() {
        let guard = OperatingGuard::new(480.0);
        guard.observe(GET, time(400.0, Some(1_000_100)), false, NOW);
        assert_eq!(guard.check(GET, NOW), Ok(()));
        guard.observe(GET, time(440.0, Some(1_000_100)), false, NOW);
        assert_eq!(guard.check(GET, NOW), Err(100));
        assert_eq!(guard.check(GET, NOW + Duration::from_secs(100)), Ok(()));
    }

    #[test]
    fn a_block_without_reset_time_pauses_ten_minutes() {
        let guard = OperatingGuard::new(480.0);
        guard.observe(GET, OperatingTime::default(), true, NOW);
        assert_eq!(guard.check(GET, NOW), Err(600));
    }

    #[test]
    fn far_future_and_millisecond_reset_times_pause_at_most_ten_minutes() {
        for reset in [1_000_000 + 10 * 365 * 86_400, 1_000_100 * 1000] {
            let guard = OperatingGuard::new(480.0);
            guard.observe(GET, time(470.0, Some(reset)), true, NOW);
            assert_eq!(guard.check(GET, NOW), Err(600), "{reset}");
            assert_eq!(guard.check(GET, NOW + Duration::from_secs(600)), Ok(()));
        }
    }

    #[test]
    fn absent_figures_change_nothing() {
        let guard = OperatingGuard::new(480.0);
        guard.observe(GET, OperatingTime::default(), false, NOW);
        assert_eq!(guard.check(GET, NOW), Ok(()));
    }

    #[test]
    fn a_paused_method_leaves_the_others_running() {
        let guard = OperatingGuard::new(480.0);
        guard.observe(LIST, OperatingTime::default(), true, NOW);
        assert_eq!(guard.check(LIST, NOW), Err(600));
        assert_eq!(guard.check(GET, NOW), Ok(()));
    }
}
