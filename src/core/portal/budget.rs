//! The portal's request budget, mirrored locally so callers never push it into
//! `QUERY_LIMIT_EXCEEDED`.
//!
//! The portal counts requests in a leaky bucket (+1 per request, draining at a fixed rate,
//! refusing past a threshold). This is the same bucket with a smaller rate and threshold (the
//! instance's share), so it fills first and the portal never sees the excess.
//!
//! Slots are also paced: a partial batch ([`Pace::Steady`]) goes at most at the bucket's steady
//! rate, one drain interval after the slot before it, so that misses arriving in between travel
//! together in the next request rather than each spending a slot of the burst. The burst is
//! kept for full batches and retries ([`Pace::Burst`]).

use std::sync::Mutex;
use std::time::Duration;

use crate::core::config::BudgetLimits;
use crate::core::domain::error::ApiError;
use crate::core::ports::{Clock, Pace};

/// The longest a caller waits in line for a portal slot before getting 503.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct PortalBudget {
    limits: BudgetLimits,
    state: Mutex<Level>,
}

#[derive(Debug)]
struct Level {
    count: f64,
    updated: Duration,
    /// No steady-paced slot before this (monotonic): one drain interval after the last slot.
    next_steady: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    Go,
    /// Go after this pause; the slot is already taken.
    After(Duration),
    /// No slot within the allowed wait; the next one frees up after this long.
    Refused(Duration),
}

impl PortalBudget {
    pub fn new(limits: BudgetLimits) -> Self {
        Self {
            limits,
            state: Mutex::new(Level {
                count: 0.0,
                updated: Duration::ZERO,
                next_steady: Duration::ZERO,
            }),
        }
    }

    /// Takes a slot now, or one that frees up within `max_wait`, spent as `pace` allows.
    pub fn admit(&self, now: Duration, max_wait: Duration, pace: Pace) -> Admission {
        let mut level = self.level(now);
        let over = level.count + 1.0 - self.limits.burst;
        let bucket = if over <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(over / self.limits.drain_per_sec)
        };
        let paced = bucket.max(level.next_steady.saturating_sub(now));
        // A partial batch waits for the steady slot once the bucket is half full (the other
        // half is for bursts of misses), when that slot comes in time; when it would not (a
        // small share, a short deadline), the burst serves it rather than nothing.
        let half_full = level.count >= self.limits.burst / 2.0;
        let wait = match pace {
            Pace::Steady if half_full && paced <= max_wait => paced,
            _ => bucket,
        };
        if wait > max_wait {
            return Admission::Refused(wait);
        }
        // Queue behind earlier waiters: the count may pass the threshold by what drains before
        // this slot's turn. Every slot pushes the next steady one a drain interval out.
        level.count += 1.0;
        let interval = Duration::from_secs_f64(1.0 / self.limits.drain_per_sec);
        level.next_steady = level.next_steady.max(now + wait + interval);
        if wait.is_zero() {
            Admission::Go
        } else {
            Admission::After(wait)
        }
    }

    /// How full the bucket is now, 0 to 1 (past 1 while callers queue for slots).
    pub fn fill(&self, now: Duration) -> f64 {
        self.level(now).count / self.limits.burst
    }

    /// The portal said its bucket is full (someone else is spending it too): believe it.
    pub fn saturate(&self, now: Duration) {
        let mut level = self.level(now);
        level.count = level.count.max(self.limits.burst);
    }

    /// The deployment's shared bucket holds `level` requests (every instance's): pace by
    /// that when it is more than this instance counted.
    pub fn align(&self, now: Duration, level: f64) {
        let mut own = self.level(now);
        if level.is_finite() {
            own.count = own.count.max(level.min(self.limits.burst * 2.0));
        }
    }

    /// Waits for a slot inside `max_wait` (a retry: the burst may be spent), or answers 503
    /// with an honest Retry-After.
    pub async fn acquire<C: Clock>(&self, clock: &C, max_wait: Duration) -> Result<(), ApiError> {
        match self.admit(clock.monotonic(), max_wait, Pace::Burst) {
            Admission::Go => Ok(()),
            Admission::After(wait) => {
                clock.sleep(wait).await;
                Ok(())
            }
            Admission::Refused(wait) => Err(ApiError::UpstreamBusy {
                retry_after_secs: wait.as_secs_f64().ceil() as u64,
            }),
        }
    }

    fn level(&self, now: Duration) -> std::sync::MutexGuard<'_, Level> {
        let mut level = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_sub(level.updated).as_secs_f64();
        level.count = (level.count - elapsed * self.limits.drain_per_sec).max(0.0);
        level.updated = level.updated.max(now);
        level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: Duration = Duration::ZERO;

    #[test]
    fn burst_then_drain() {
        let budget = PortalBudget::new(BudgetLimits {
            drain_per_sec: 2.0,
            burst: 40.0,
        });
        let t0 = Duration::from_secs(100);
        assert!((0..40).all(|_| budget.admit(t0, NO_WAIT, Pace::Burst) == Admission::Go));
        assert_eq!(
            budget.admit(t0, NO_WAIT, Pace::Burst),
            Admission::Refused(Duration::from_millis(500))
        );
        // Half a second later one slot has drained.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(budget.admit(t1, NO_WAIT, Pace::Burst), Admission::Go);
        assert!(matches!(
            budget.admit(t1, NO_WAIT, Pace::Burst),
            Admission::Refused(_)
        ));
    }

    #[test]
    fn short_waits_queue_in_order() {
        let budget = PortalBudget::new(BudgetLimits {
            drain_per_sec: 4.0,
            burst: 1.0,
        });
        let t = Duration::from_secs(1);
        assert_eq!(budget.admit(t, MAX_QUEUE_WAIT, Pace::Burst), Admission::Go);
        assert_eq!(
            budget.admit(t, MAX_QUEUE_WAIT, Pace::Burst),
            Admission::After(Duration::from_millis(250))
        );
        assert_eq!(
            budget.admit(t, MAX_QUEUE_WAIT, Pace::Burst),
            Admission::Refused(Duration::from_millis(500))
        );
    }

    #[test]
    fn partial_batches_go_at_the_steady_rate_full_ones_use_the_burst() {
        let budget = PortalBudget::new(BudgetLimits {
            drain_per_sec: 2.0,
            burst: 40.0,
        });
        let t = Duration::from_secs(10);
        let half = Duration::from_millis(500);
        for n in 0..20 {
            assert_eq!(
                budget.admit(t, NO_WAIT, Pace::Steady),
                Admission::Go,
                "{n}: the first half of the burst at once"
            );
        }
        assert_eq!(
            budget.admit(t, SECOND, Pace::Steady),
            Admission::After(half),
            "the next partial batch waits one drain interval"
        );
        assert_eq!(
            budget.admit(t, SECOND, Pace::Steady),
            Admission::After(2 * half),
            "queued behind it"
        );
        assert_eq!(
            budget.admit(t, NO_WAIT, Pace::Burst),
            Admission::Go,
            "a full batch"
        );
        let later = t + 10 * SECOND;
        assert_eq!(budget.admit(later, NO_WAIT, Pace::Steady), Admission::Go);
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn saturate_believes_the_portal() {
        let budget = PortalBudget::new(BudgetLimits {
            drain_per_sec: 2.0,
            burst: 10.0,
        });
        let t = Duration::from_secs(5);
        budget.saturate(t);
        assert!(matches!(
            budget.admit(t, NO_WAIT, Pace::Burst),
            Admission::Refused(_)
        ));
    }
}
