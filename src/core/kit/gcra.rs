//! A per-key allowance of so much a minute (the generic cell rate algorithm), all of it
//! usable in a burst: each key keeps one time, when its allowance will be whole again.
//!
//! The times live in a bounded map ordered by when each key was last seen, refused requests
//! included: every decision costs O(1), memory stays under the capacity, and a new key takes
//! the place of the one seen longest ago. A key that keeps asking is always near the front, so
//! floods of other keys push out quiet ones, not it.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use lru::LruCache;

use super::lock::lock;

const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Gcra<K: Hash + Eq> {
    per_minute: u32,
    /// Theoretical arrival time per key: when everything it took is paid back.
    keys: Mutex<LruCache<K, Duration>>,
}

impl<K: Hash + Eq> Gcra<K> {
    /// `per_minute == 0` lets everything pass.
    pub fn new(per_minute: u32, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            per_minute,
            keys: Mutex::new(LruCache::new(capacity)),
        }
    }

    pub fn is_off(&self) -> bool {
        self.per_minute == 0
    }

    /// Takes `cost` units for `key` (at most a minute's worth counts), or answers how many
    /// seconds until they would fit.
    pub fn take(&self, key: K, cost: u32, now: Duration) -> Result<(), u64> {
        if self.per_minute == 0 || cost == 0 {
            return Ok(());
        }
        let interval = MINUTE / self.per_minute;
        let cost = interval * cost.min(self.per_minute);
        let mut keys = lock(&self.keys);
        // `get_mut` also marks the key as just seen, refused or not.
        let tat = keys.get_mut(&key);
        let start = tat.as_deref().copied().unwrap_or(now).max(now);
        let end = start + cost;
        if end - now > MINUTE {
            let wait = end - now - MINUTE;
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        match tat {
            Some(tat) => *tat = end,
            // A key not seen (or forgotten) starts with a full allowance.
            None => {
                keys.push(key, end);
            }
        }
        Ok(())
    }

    /// How many keys are remembered now.
    pub fn tracked(&self) -> usize {
        lock(&self.keys).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_in_a_burst_then_the_rate() {
        let gcra = Gcra::new(60, 10);
        let t = Duration::from_secs(100);
        assert_eq!(gcra.take('a', 50, t), Ok(()));
        assert_eq!(gcra.take('a', 10, t), Ok(()));
        assert_eq!(gcra.take('a', 1, t), Err(1));
        assert_eq!(gcra.take('a', 5, t), Err(5));
        assert_eq!(gcra.take('b', 60, t), Ok(()), "keys are apart");
        assert_eq!(gcra.take('a', 3, t + Duration::from_secs(3)), Ok(()));
        assert_eq!(
            gcra.take('a', 1000, t + Duration::from_secs(600)),
            Ok(()),
            "capped at a minute"
        );
    }

    #[test]
    fn off_and_bounded() {
        let off = Gcra::new(0, 10);
        assert!((0..1000).all(|n| off.take(n, 1000, Duration::ZERO).is_ok()));
        assert_eq!(off.tracked(), 0);
        let gcra = Gcra::new(10, 3);
        for n in 0..100 {
            assert_eq!(gcra.take(n, 1, Duration::ZERO), Ok(()));
        }
        assert_eq!(gcra.tracked(), 3);
    }
}
