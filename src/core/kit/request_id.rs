//! Ids for responses and log lines that tell a caller nothing: not the instance, not how many
//! requests came before. Each is a hash of a secret seed (from the platform's randomness) and a
//! counter, so ids never repeat within an instance and cannot be guessed or ordered.

use std::hash::{DefaultHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct RequestIds {
    seed: u128,
    next: AtomicU64,
}

impl RequestIds {
    /// `seed` must come from the platform's randomness (a guessable one makes guessable ids).
    pub fn new(seed: u128) -> Self {
        Self {
            seed,
            next: AtomicU64::new(1),
        }
    }

    pub fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut hasher = DefaultHasher::new();
        hasher.write_u128(self.seed);
        hasher.write_u64(n);
        format!("{:016x}", hasher.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_unordered_and_depend_on_the_seed() {
        let ids = RequestIds::new(0x5eed_u128 << 70 | 12_345);
        let taken: Vec<String> = (0..10_000).map(|_| ids.next_id()).collect();
        assert_eq!(taken.iter().collect::<HashSet<_>>().len(), taken.len());
        assert!(taken.iter().all(|id| id.len() == 16));
        // Not a counter: consecutive ids do not sort in order.
        let ascending = taken.windows(2).filter(|w| w[0] < w[1]).count();
        assert!((3_000..7_000).contains(&ascending), "{ascending}");
        let other = RequestIds::new(1);
        assert_ne!(
            other.next_id(),
            RequestIds::new(0x5eed_u128 << 70 | 12_345).next_id()
        );
    }
}
