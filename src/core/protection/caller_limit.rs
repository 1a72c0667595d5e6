//! Per-caller request limits, keyed by the client address from the platform's trusted source.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Decides whether one more request from `ip` may pass. `Err` carries Retry-After seconds.
pub trait CallerLimiter {
    fn check(&self, ip: IpAddr, now: Duration) -> impl Future<Output = Result<(), u64>>;
}

/// In-process GCRA: `per_minute` requests a minute, all of them allowed in a burst.
/// Per instance: N instances allow N times as much. `per_minute == 0` disables it.
#[derive(Debug)]
pub struct InProcessLimiter {
    per_minute: u32,
    /// Theoretical arrival time per caller.
    callers: Mutex<HashMap<IpAddr, Duration>>,
}

/// Forget idle callers once this many are tracked.
const PURGE_AT: usize = 10_000;

impl InProcessLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            callers: Mutex::new(HashMap::new()),
        }
    }

    pub fn decide(&self, ip: IpAddr, now: Duration) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let interval = Duration::from_secs(60) / self.per_minute;
        let tolerance = Duration::from_secs(60).saturating_sub(interval);
        let mut callers = self.callers.lock().unwrap_or_else(|e| e.into_inner());
        if callers.len() >= PURGE_AT {
            callers.retain(|_, tat| *tat > now);
        }
        let tat = callers.get(&ip).copied().unwrap_or(now).max(now);
        if tat - now > tolerance {
            let wait = tat - now - tolerance;
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        callers.insert(ip, tat + interval);
        Ok(())
    }
}

impl CallerLimiter for InProcessLimiter {
    fn check(&self, ip: IpAddr, now: Duration) -> impl Future<Output = Result<(), u64>> {
        std::future::ready(self.decide(ip, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_minute_then_refuses_with_retry_after() {
        let limiter = InProcessLimiter::new(6);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let b: IpAddr = "203.0.113.8".parse().unwrap();
        let t = Duration::from_secs(1000);
        assert!((0..6).all(|_| limiter.decide(a, t).is_ok()));
        assert_eq!(limiter.decide(a, t), Err(10));
        assert!(
            limiter.decide(b, t).is_ok(),
            "callers are limited separately"
        );
        assert!(limiter.decide(a, t + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn zero_means_off() {
        let limiter = InProcessLimiter::new(0);
        let ip: IpAddr = "::1".parse().unwrap();
        assert!((0..10_000).all(|_| limiter.decide(ip, Duration::ZERO).is_ok()));
    }
}
