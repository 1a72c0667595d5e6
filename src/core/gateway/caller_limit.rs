//! Per-caller request limits, keyed by the client address from the platform's trusted source
//! (IPv6 by its /64: [`caller_key`]).

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use crate::core::domain::caller::{caller_key, CallerKey};
use crate::core::kit::gcra::Gcra;
use crate::core::ports::CallerLimiter;

/// In-process GCRA ([`Gcra`]): `per_minute` requests a minute, all of them allowed in a burst.
/// Per instance: N instances allow N times as much. `per_minute == 0` disables it. At most
/// [`MAX_CALLERS`] callers are remembered; a caller who keeps sending is never the one forgotten.
#[derive(Debug)]
pub struct InProcessLimiter {
    callers: Gcra<CallerKey>,
}

/// How many callers are remembered at once (about 5 MB at most).
pub const MAX_CALLERS: usize = 65_536;

impl InProcessLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self::with_capacity(per_minute, MAX_CALLERS)
    }

    fn with_capacity(per_minute: u32, capacity: usize) -> Self {
        Self {
            callers: Gcra::new(per_minute, capacity),
        }
    }

    /// `STOCK_RATE_LIMIT_PER_MIN=0`: every caller passes.
    pub fn is_off(&self) -> bool {
        self.callers.is_off()
    }

    pub fn decide(&self, ip: IpAddr, now: Duration) -> Result<(), u64> {
        self.callers.take(caller_key(ip), 1, now)
    }

    /// How many callers are remembered now.
    pub fn tracked(&self) -> usize {
        self.callers.tracked()
    }
}

impl CallerLimiter for InProcessLimiter {
    fn check(&self, ip: IpAddr, now: Duration) -> impl Future<Output = Result<(), u64>> {
        std::future::ready(self.decide(ip, now))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Instant;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn allows_the_minute_then_refuses_with_retry_after() {
        let limiter = InProcessLimiter::new(6);
        let a = ip("203.0.113.7");
        let b = ip("203.0.113.8");
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
        let ip = ip("::1");
        assert!((0..10_000).all(|_| limiter.decide(ip, Duration::ZERO).is_ok()));
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn rotating_inside_one_ipv6_slash_64_shares_one_allowance() {
        let limiter = InProcessLimiter::new(3);
        let t = Duration::from_secs(5);
        for n in 1..=3 {
            assert!(limiter.decide(ip(&format!("2001:db8:7:7::{n}")), t).is_ok());
        }
        assert!(limiter.decide(ip("2001:db8:7:7:dead:beef::99"), t).is_err());
        assert!(limiter.decide(ip("2001:db8:7:8::1"), t).is_ok(), "next /64");
    }

    #[test]
    fn an_ipv4_mapped_peer_is_its_ipv4_address() {
        let limiter = InProcessLimiter::new(2);
        let t = Duration::from_secs(5);
        assert!(limiter.decide(ip("198.51.100.4"), t).is_ok());
        assert!(limiter.decide(ip("::ffff:198.51.100.4"), t).is_ok());
        assert!(limiter.decide(ip("198.51.100.4"), t).is_err());
    }

    fn nth_address(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn memory_is_bounded_and_a_busy_caller_stays_limited_through_a_flood() {
        let capacity = 1_000;
        let limiter = InProcessLimiter::with_capacity(60, capacity);
        let busy = ip("203.0.113.50");
        let t = Duration::from_secs(100);
        assert!((0..60).all(|_| limiter.decide(busy, t).is_ok()));
        assert!(limiter.decide(busy, t).is_err());
        // Fifty times the capacity in distinct addresses churns through, while the busy
        // caller keeps trying every few hundred of them.
        for n in 0..50 * capacity as u32 {
            assert!(limiter.decide(nth_address(n), t).is_ok(), "{n}");
            if n % 300 == 0 {
                assert!(limiter.decide(busy, t).is_err(), "forgotten after {n}");
            }
            assert!(limiter.tracked() <= capacity);
        }
        assert_eq!(limiter.tracked(), capacity);
    }

    #[test]
    fn work_per_request_does_not_grow_with_the_number_of_callers() {
        let limiter = InProcessLimiter::new(600);
        let t = Duration::from_secs(1);
        // Fill the map to its bound, then measure more requests: each one evicts.
        for n in 0..MAX_CALLERS as u32 {
            let _ = limiter.decide(nth_address(n), t);
        }
        assert_eq!(limiter.tracked(), MAX_CALLERS);
        let started = Instant::now();
        for n in 0..200_000u32 {
            let _ = limiter.decide(nth_address(MAX_CALLERS as u32 + n), t);
        }
        // A scan of every key per request would take minutes here; O(1) takes well under
        // a second even in a debug build.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(limiter.tracked(), MAX_CALLERS);
    }
}
