//! Answers by key, kept for their TTL and a while past it (stale-if-error), with a one-time
//! hint when an answer nears its end so it can be refreshed before anyone misses.
//!
//! Hand-written rather than `moka`: it must run on wasm32 with the platform's clock (moka reads
//! `std::time::Instant`, which traps there), and stale-if-error needs expired entries back,
//! which a TTL cache evicts.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use crate::core::kit::lock::lock;
use crate::core::publish::cached::Cached;
use std::time::Duration;

/// Past this share of its TTL, a hit asks for a background refresh (once).
const REFRESH_AT: f64 = 0.8;

struct Entry<V> {
    value: V,
    stored_at: Duration,
    expires_at: Duration,
    refresh_at: Duration,
    refresh_asked: bool,
    /// Its life was set by its source (a mirror's next sweep), not by our lifetimes.
    promised: bool,
}

/// A fresh answer: its value, its age, and whether this hit should start a refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<V> {
    pub value: V,
    pub age: Duration,
    /// How long it stays fresh from now.
    pub life_left: Duration,
    /// Whether that life was promised by its source (see [`TtlCache::store_promised`]).
    pub promised: bool,
    pub refresh: bool,
}

pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
    max_entries: usize,
    stale_for: Duration,
}

impl<K: Eq + Hash + Copy, V: Clone> TtlCache<K, V> {
    pub fn new(max_entries: usize, stale_for: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max_entries,
            stale_for,
        }
    }

    /// A fresh answer. The first hit past [`REFRESH_AT`] of the TTL says `refresh`.
    pub fn fresh(&self, key: K, now: Duration) -> Option<Hit<V>> {
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(&key).filter(|e| now < e.expires_at)?;
        let refresh = now >= entry.refresh_at && !entry.refresh_asked;
        entry.refresh_asked |= refresh;
        Some(Hit {
            value: entry.value.clone(),
            age: now.saturating_sub(entry.stored_at),
            life_left: entry.expires_at.saturating_sub(now),
            promised: entry.promised,
            refresh,
        })
    }

    /// An expired answer still inside the stale-if-error window, and its age.
    pub fn stale(&self, key: K, now: Duration) -> Option<(V, Duration)> {
        let entries = lock(&self.entries);
        let entry = entries
            .get(&key)
            .filter(|e| now < e.expires_at + self.stale_for)?;
        Some((entry.value.clone(), now.saturating_sub(entry.stored_at)))
    }

    /// Keeps `value` from `stored_at` for `ttl` (`stored_at` may lie in the past for an answer
    /// that aged elsewhere, e.g. in a shared cache).
    pub fn store(&self, key: K, value: V, stored_at: Duration, ttl: Duration) {
        self.store_with(key, value, stored_at, ttl, false);
    }

    /// [`TtlCache::store`] for a life its source promised (a mirror's time to its next sweep):
    /// hits say so, and answers pass the time left on instead of our lifetime.
    pub fn store_promised(&self, key: K, value: V, stored_at: Duration, ttl: Duration) {
        self.store_with(key, value, stored_at, ttl, true);
    }

    fn store_with(&self, key: K, value: V, stored_at: Duration, ttl: Duration, promised: bool) {
        if ttl.is_zero() || self.max_entries == 0 {
            return;
        }
        let mut entries = lock(&self.entries);
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            self.make_room(&mut entries, stored_at);
        }
        entries.insert(
            key,
            Entry {
                value,
                stored_at,
                expires_at: stored_at + ttl,
                refresh_at: stored_at + ttl.mul_f64(REFRESH_AT),
                refresh_asked: false,
                promised,
            },
        );
    }

    /// Drops what can no longer be served; if that is not a tenth of the entries, also others,
    /// in no particular order (the map's), until a tenth is free. Freeing a tenth at a time keeps
    /// this O(1) per store on average, however full the cache stays; choosing victims by age
    /// would cost the Worker 5 KB of sorting code for little gain.
    fn make_room(&self, entries: &mut HashMap<K, Entry<V>>, now: Duration) {
        let stale_for = self.stale_for;
        entries.retain(|_, e| now < e.expires_at + stale_for);
        let keep = self.max_entries - self.max_entries.div_ceil(10);
        if entries.len() <= keep {
            return;
        }
        let victims: Vec<K> = entries.keys().take(entries.len() - keep).copied().collect();
        for key in &victims {
            entries.remove(key);
        }
    }

    /// Up to `most` fresh entries past `share` of their life that have not asked for a refresh
    /// yet; they count as having asked now.
    pub fn due(&self, now: Duration, share: f64, most: usize) -> Vec<K> {
        let mut entries = lock(&self.entries);
        let mut due = Vec::new();
        for (key, entry) in entries.iter_mut() {
            if due.len() >= most {
                break;
            }
            let life = entry.expires_at.saturating_sub(entry.stored_at);
            let past = now >= entry.stored_at + life.mul_f64(share);
            if past && now < entry.expires_at && !entry.refresh_asked {
                entry.refresh_asked = true;
                due.push(*key);
            }
        }
        due
    }

    pub fn remove(&self, key: K) {
        lock(&self.entries).remove(&key);
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The share of a cache's room that "no such record" answers may hold.
pub const MISSING_SHARE: f64 = 0.1;

/// Published answers by key. Answers that there is no such record or product (or none the
/// gateway can give: [`Cached::TooLarge`]) are kept apart:
/// they hold at most [`MISSING_SHARE`] of the room, so a flood of unknown ids churns only
/// them and never pushes out a found answer or its stale copy; and they never stand in as
/// stale (their short life is the whole promise).
pub struct AnswerCache<K> {
    found: TtlCache<K, Cached>,
    missing: TtlCache<K, Absent>,
}

/// What the `missing` side holds: which of the two answers without a body.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Absent {
    Missing,
    TooLarge,
}

impl<K: Eq + Hash + Copy> AnswerCache<K> {
    pub fn new(max_entries: usize, stale_for: Duration) -> Self {
        let missing_room = (max_entries as f64 * MISSING_SHARE).ceil() as usize;
        Self {
            found: TtlCache::new(max_entries, stale_for),
            missing: TtlCache::new(missing_room, Duration::ZERO),
        }
    }

    pub fn fresh(&self, key: K, now: Duration) -> Option<Hit<Cached>> {
        self.found.fresh(key, now).or_else(|| {
            self.missing.fresh(key, now).map(|hit| Hit {
                value: match hit.value {
                    Absent::Missing => Cached::Missing,
                    Absent::TooLarge => Cached::TooLarge,
                },
                age: hit.age,
                life_left: hit.life_left,
                promised: hit.promised,
                refresh: hit.refresh,
            })
        })
    }

    /// Found answers past `share` of their life, not yet being refreshed (see [`TtlCache::due`]).
    pub fn due(&self, now: Duration, share: f64, most: usize) -> Vec<K> {
        self.found.due(now, share, most)
    }

    /// A found answer past its life but inside the stale window.
    pub fn stale(&self, key: K, now: Duration) -> Option<(Cached, Duration)> {
        self.found.stale(key, now)
    }

    /// Keeps `value`, replacing whatever the other kind held for `key` (`promised`: see
    /// [`TtlCache::store_promised`]).
    pub fn store(&self, key: K, value: Cached, stored_at: Duration, ttl: Duration, promised: bool) {
        let absent = match value {
            Cached::Missing => Some(Absent::Missing),
            Cached::TooLarge => Some(Absent::TooLarge),
            Cached::Record(_) | Cached::Product(_) => None,
        };
        if let Some(absent) = absent {
            self.found.remove(key);
            self.missing
                .store_with(key, absent, stored_at, ttl, promised);
        } else {
            self.missing.remove(key);
            self.found.store_with(key, value, stored_at, ttl, promised);
        }
    }

    pub fn len(&self) -> usize {
        self.found.len() + self.missing.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn fresh_then_stale_then_gone() {
        let cache = TtlCache::new(10, 5 * S);
        cache.store(1u32, "x", 10 * S, 2 * S);
        assert_eq!(
            cache.fresh(1, 11 * S).map(|h| (h.value, h.age)),
            Some(("x", S))
        );
        assert_eq!(cache.fresh(1, 12 * S), None);
        assert_eq!(cache.stale(1, 16 * S), Some(("x", 6 * S)));
        assert_eq!(cache.stale(1, 17 * S), None);
    }

    #[test]
    fn asks_for_one_refresh_near_the_end() {
        let cache = TtlCache::new(10, S);
        cache.store(1u32, "x", Duration::ZERO, 10 * S);
        assert!(!cache.fresh(1, 7 * S).unwrap().refresh);
        assert!(cache.fresh(1, 8 * S).unwrap().refresh);
        assert!(!cache.fresh(1, 9 * S).unwrap().refresh, "asked once");
        cache.store(1, "y", 9 * S, 10 * S);
        assert!(
            cache.fresh(1, 17 * S).unwrap().refresh,
            "a new answer may ask again"
        );
    }

    #[test]
    fn zero_ttl_stores_nothing_and_capacity_is_bounded() {
        let cache = TtlCache::new(3, S);
        cache.store(1u32, (), S, Duration::ZERO);
        assert!(cache.is_empty());
        for n in 1..=10 {
            cache.store(n, (), S, S);
        }
        assert!(cache.len() <= 3);
        assert!(cache.fresh(10, S).is_some());
    }

    #[test]
    fn a_full_cache_frees_a_tenth_at_a_time() {
        let cache = TtlCache::new(100, Duration::ZERO);
        for n in 1..=100u32 {
            cache.store(n, (), Duration::ZERO, 60 * S);
        }
        cache.store(1000, (), Duration::ZERO, 500 * S);
        assert_eq!(cache.len(), 91, "ten dropped, one added");
        assert!(cache.fresh(1000, Duration::ZERO).is_some());
        // Until full again, stores need no room.
        for n in 2000..2009 {
            cache.store(n, (), Duration::ZERO, 500 * S);
        }
        assert_eq!(cache.len(), 100);
        // Full of expired answers: they all go, and nothing live.
        cache.store(3000, (), 61 * S, 60 * S);
        assert_eq!(cache.len(), 11, "the 90 expired answers dropped");
    }

    #[test]
    fn missing_answers_hold_a_tenth_leave_alone_and_never_stand_in() {
        let record = || Cached::Product(bytes::Bytes::from_static(b"{}"));
        let cache = AnswerCache::new(100, 300 * S);
        for n in 1..=50u32 {
            cache.store(n, record(), Duration::ZERO, 30 * S, false);
        }
        // A flood of unknown ids: only the missing answers churn.
        for n in 1000..11_000u32 {
            cache.store(n, Cached::Missing, Duration::ZERO, 10 * S, false);
        }
        assert!(cache.len() <= 50 + 10, "{}", cache.len());
        assert!(
            (1..=50).all(|n| cache.fresh(n, S).is_some()),
            "found answers stay"
        );
        // Past their lives: the found ones stand in as stale, the missing ones do not.
        assert!(cache.stale(1, 100 * S).is_some());
        assert_eq!(cache.stale(10_999, 11 * S), None);
        assert_eq!(
            cache.fresh(10_999, S).map(|h| h.value),
            Some(Cached::Missing)
        );
        // A record that appears replaces its "missing" answer, and the other way round.
        cache.store(10_999, record(), S, 30 * S, true);
        let hit = cache.fresh(10_999, S).expect("kept");
        assert_eq!(
            (hit.value, hit.promised, hit.life_left),
            (record(), true, 30 * S)
        );
        cache.store(1, Cached::Missing, S, 10 * S, false);
        assert_eq!(cache.fresh(1, S).map(|h| h.value), Some(Cached::Missing));
        assert_eq!(
            cache.stale(1, 100 * S),
            None,
            "no stale copy of a deleted record"
        );
    }

    #[test]
    fn due_entries_are_those_past_the_share_and_not_yet_asked() {
        let cache = TtlCache::new(10, S);
        cache.store(1u32, (), Duration::ZERO, 10 * S);
        cache.store(2u32, (), 4 * S, 10 * S);
        cache.store(3u32, (), Duration::ZERO, 10 * S);
        assert!(cache.fresh(3, 8 * S).unwrap().refresh, "3 asked for itself");
        assert_eq!(cache.due(8 * S, 0.5, 10), vec![1]);
        assert_eq!(cache.due(8 * S, 0.5, 10), Vec::<u32>::new(), "asked once");
        assert_eq!(cache.due(9 * S, 0.5, 10), vec![2]);
        assert!(!cache.fresh(2, 9 * S).unwrap().refresh, "no second refresh");
    }
}
