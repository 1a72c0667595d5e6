//! Per-caller request limits, keyed by the client address from the platform's trusted source
//! (IPv6 by its /64: [`caller_key`]).

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use crate::core::domain::caller::{caller_key, CallerKey};
use crate::core::kit::gcra::Gcra;
use crate::core::ports::{CallerLimiter, KeyedLimit};

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

/// A limit kept outside the process, with the in-process limiter standing in whenever it
/// cannot be asked: a platform failure never lets callers through unlimited, and never
/// refuses everyone.
pub struct KeyedOrInProcess<K> {
    keyed: K,
    fallback: InProcessLimiter,
    /// What a refusal of the keyed limit says in `Retry-After` (its period).
    retry_after_secs: u64,
}

impl<K: KeyedLimit> KeyedOrInProcess<K> {
    pub fn new(keyed: K, fallback: InProcessLimiter, retry_after_secs: u64) -> Self {
        Self {
            keyed,
            fallback,
            retry_after_secs,
        }
    }

    pub async fn decide(&self, ip: IpAddr, now: Duration) -> Result<(), u64> {
        match self.keyed.allow(caller_key(ip).to_string()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.retry_after_secs),
            Err(()) => {
                tracing::warn!("the shared caller limit failed; using the in-process limit");
                self.fallback.decide(ip, now)
            }
        }
    }
}

impl<K: KeyedLimit> CallerLimiter for KeyedOrInProcess<K> {
    fn check(&self, ip: IpAddr, now: Duration) -> impl Future<Output = Result<(), u64>> {
        self.decide(ip, now)
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

    /// A keyed limit that answers what it is told, and records the keys it was asked for.
    struct Scripted {
        answer: Result<bool, ()>,
        asked: std::sync::Mutex<Vec<String>>,
    }

    impl KeyedLimit for Scripted {
        fn allow(&self, key: String) -> impl Future<Output = Result<bool, ()>> {
            self.asked.lock().unwrap().push(key);
            std::future::ready(self.answer)
        }
    }

    fn keyed(answer: Result<bool, ()>, fallback_per_minute: u32) -> KeyedOrInProcess<Scripted> {
        let scripted = Scripted {
            answer,
            asked: Default::default(),
        };
        KeyedOrInProcess::new(scripted, InProcessLimiter::new(fallback_per_minute), 60)
    }

    #[tokio::test]
    async fn the_keyed_limit_decides_while_it_answers() {
        let t = Duration::from_secs(5);
        let yes = keyed(Ok(true), 1);
        for _ in 0..5 {
            assert_eq!(yes.decide(ip("2001:db8:1:2::7"), t).await, Ok(()));
        }
        // Asked by the caller's key (the /64), and the fallback's one request is never spent.
        assert_eq!(yes.keyed.asked.lock().unwrap()[0], "2001:db8:1:2::/64");
        assert_eq!(yes.fallback.tracked(), 0);
        let no = keyed(Ok(false), 1000);
        assert_eq!(no.decide(ip("203.0.113.9"), t).await, Err(60));
    }

    #[tokio::test]
    async fn a_failing_keyed_limit_leaves_the_in_process_limit_in_charge() {
        let t = Duration::from_secs(5);
        let failing = keyed(Err(()), 2);
        let caller = ip("203.0.113.9");
        assert_eq!(failing.decide(caller, t).await, Ok(()));
        assert_eq!(failing.decide(caller, t).await, Ok(()));
        // Not through unlimited: the fallback's own count refuses the third, with its own
        // honest Retry-After.
        assert_eq!(failing.decide(caller, t).await, Err(30));
        assert_eq!(
            failing.decide(ip("203.0.113.10"), t).await,
            Ok(()),
            "others pass"
        );
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
