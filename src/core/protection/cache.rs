//! Answers per id, kept for their TTL and a while past it (stale-if-error), with concurrent
//! misses for one id sharing one upstream call.
//!
//! Hand-written rather than `moka`: it must run on wasm32 with the platform's clock (moka reads
//! `std::time::Instant`, which traps there), and stale-if-error needs expired entries back,
//! which a TTL cache evicts.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::core::api::api_error::ApiError;
use crate::core::api::render::RenderedRecord;
use crate::core::stock::id::RecordId;

/// What a lookup settled on, as served to every caller until it expires.
#[derive(Debug, Clone, PartialEq)]
pub enum Cached {
    Record(RenderedRecord),
    /// No such record, or one the policy hides.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    Stale,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Stale => "STALE",
        }
    }
}

struct Entry {
    value: Cached,
    stored_at: Duration,
    expires_at: Duration,
}

type Flight = Arc<OnceCell<Result<Cached, ApiError>>>;

pub struct StockCache {
    entries: Mutex<HashMap<RecordId, Entry>>,
    in_flight: Mutex<HashMap<RecordId, Flight>>,
    max_entries: usize,
    stale_for: Duration,
    waiting: Waiting,
}

/// How a caller waiting for another caller's portal call learns the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// The caller that made the call wakes the waiters (native runtimes).
    Woken,
    /// Waiters look again on their own timer. On Cloudflare Workers a request woken by another
    /// request resumes in that request's I/O context and then cannot answer ("Cannot perform
    /// I/O on behalf of a different request"); polling keeps each request in its own context.
    Polling(Duration),
}

impl StockCache {
    pub fn new(max_entries: usize, stale_for: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            max_entries,
            stale_for,
            waiting: Waiting::Woken,
        }
    }

    pub fn with_waiting(mut self, waiting: Waiting) -> Self {
        self.waiting = waiting;
        self
    }

    /// A fresh answer and its age.
    pub fn fresh(&self, id: RecordId, now: Duration) -> Option<(Cached, Duration)> {
        let entries = lock(&self.entries);
        let entry = entries.get(&id).filter(|e| now < e.expires_at)?;
        Some((entry.value.clone(), now.saturating_sub(entry.stored_at)))
    }

    /// An expired answer still inside the stale-if-error window, and its age.
    pub fn stale(&self, id: RecordId, now: Duration) -> Option<(Cached, Duration)> {
        let entries = lock(&self.entries);
        let entry = entries
            .get(&id)
            .filter(|e| now < e.expires_at + self.stale_for)?;
        Some((entry.value.clone(), now.saturating_sub(entry.stored_at)))
    }

    pub fn store(&self, id: RecordId, value: Cached, now: Duration, ttl: Duration) {
        if ttl.is_zero() || self.max_entries == 0 {
            return;
        }
        let mut entries = lock(&self.entries);
        if entries.len() >= self.max_entries && !entries.contains_key(&id) {
            let stale_for = self.stale_for;
            entries.retain(|_, e| now < e.expires_at + stale_for);
            if entries.len() >= self.max_entries {
                // Still full of live entries: make room by dropping an arbitrary one.
                if let Some(victim) = entries.keys().next().copied() {
                    entries.remove(&victim);
                }
            }
        }
        entries.insert(
            id,
            Entry {
                value,
                stored_at: now,
                expires_at: now + ttl,
            },
        );
    }

    /// Runs `fetch` once for all concurrent callers asking for `id`; each gets its result.
    /// If the caller running `fetch` goes away, a waiting caller takes over. `sleep` is the
    /// platform's timer, used by [`Waiting::Polling`].
    pub async fn coalesce<F, Fut, S, SFut>(
        &self,
        id: RecordId,
        fetch: F,
        sleep: S,
    ) -> Result<Cached, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached, ApiError>>,
        S: Fn(Duration) -> SFut,
        SFut: Future<Output = ()>,
    {
        match self.waiting {
            Waiting::Woken => self.coalesce_woken(id, fetch).await,
            Waiting::Polling(interval) => self.coalesce_polling(id, fetch, interval, sleep).await,
        }
    }

    async fn coalesce_woken<F, Fut>(&self, id: RecordId, fetch: F) -> Result<Cached, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached, ApiError>>,
    {
        let flight = lock(&self.in_flight).entry(id).or_default().clone();
        let result = flight.get_or_init(fetch).await.clone();
        self.land(id, &flight);
        result
    }

    async fn coalesce_polling<F, Fut, S, SFut>(
        &self,
        id: RecordId,
        fetch: F,
        interval: Duration,
        sleep: S,
    ) -> Result<Cached, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached, ApiError>>,
        S: Fn(Duration) -> SFut,
        SFut: Future<Output = ()>,
    {
        loop {
            let (flight, leading) = {
                let mut in_flight = lock(&self.in_flight);
                match in_flight.get(&id) {
                    Some(flight) => (flight.clone(), false),
                    None => {
                        let flight = Flight::default();
                        in_flight.insert(id, flight.clone());
                        (flight, true)
                    }
                }
            };
            if leading {
                // Lands the flight even if this caller goes away mid-call.
                let _landing = Landing {
                    cache: self,
                    id,
                    flight: &flight,
                };
                let result = fetch().await;
                let _ = flight.set(result.clone());
                return result;
            }
            // The leader sets the result before it lands, so a landed flight without one was
            // abandoned: go round again and lead.
            while self.in_air(id, &flight) && flight.get().is_none() {
                sleep(interval).await;
            }
            if let Some(result) = flight.get() {
                return result.clone();
            }
        }
    }

    fn in_air(&self, id: RecordId, flight: &Flight) -> bool {
        lock(&self.in_flight)
            .get(&id)
            .is_some_and(|f| Arc::ptr_eq(f, flight))
    }

    /// Forgets a finished (or abandoned) call, unless a newer one took its place.
    fn land(&self, id: RecordId, flight: &Flight) {
        let mut in_flight = lock(&self.in_flight);
        if in_flight.get(&id).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            in_flight.remove(&id);
        }
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Lands a polled flight when its leader finishes or is dropped.
struct Landing<'a> {
    cache: &'a StockCache,
    id: RecordId,
    flight: &'a Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.cache.land(self.id, self.flight);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent even if a holder panicked: every update is a single call.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> RecordId {
        RecordId::from_u64(n).unwrap()
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn fresh_then_stale_then_gone() {
        let cache = StockCache::new(10, 5 * S);
        cache.store(id(1), Cached::Missing, 10 * S, 2 * S);
        assert_eq!(cache.fresh(id(1), 11 * S), Some((Cached::Missing, S)));
        assert_eq!(cache.fresh(id(1), 12 * S), None);
        assert_eq!(cache.stale(id(1), 16 * S), Some((Cached::Missing, 6 * S)));
        assert_eq!(cache.stale(id(1), 17 * S), None);
    }

    #[test]
    fn zero_ttl_stores_nothing_and_capacity_is_bounded() {
        let cache = StockCache::new(3, S);
        cache.store(id(1), Cached::Missing, S, Duration::ZERO);
        assert!(cache.is_empty());
        for n in 1..=10 {
            cache.store(id(n), Cached::Missing, S, S);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.fresh(id(10), S).is_some());
    }

    async fn fifty_concurrent_misses(cache: StockCache) -> usize {
        let cache = Arc::new(cache);
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.spawn(async move {
                cache
                    .coalesce(
                        id(7),
                        || async {
                            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Ok(Cached::Missing)
                        },
                        tokio::time::sleep,
                    )
                    .await
            });
        }
        let results = tasks.join_all().await;
        assert!(results.iter().all(|r| *r == Ok(Cached::Missing)));
        // Once settled, the next miss fetches again (nothing was stored by this test).
        let again = cache
            .coalesce(
                id(7),
                || async { Err(ApiError::UpstreamTimeout) },
                tokio::time::sleep,
            )
            .await;
        assert_eq!(again, Err(ApiError::UpstreamTimeout));
        calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        assert_eq!(fifty_concurrent_misses(StockCache::new(10, S)).await, 1);
    }

    #[tokio::test]
    async fn polling_waiters_share_one_fetch_too() {
        let cache = StockCache::new(10, S).with_waiting(Waiting::Polling(Duration::from_millis(5)));
        assert_eq!(fifty_concurrent_misses(cache).await, 1);
    }

    #[tokio::test]
    async fn a_polling_waiter_takes_over_an_abandoned_call() {
        let cache = Arc::new(
            StockCache::new(10, S).with_waiting(Waiting::Polling(Duration::from_millis(5))),
        );
        let leader = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .coalesce(
                        id(9),
                        std::future::pending::<Result<Cached, ApiError>>,
                        tokio::time::sleep,
                    )
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiter = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .coalesce(id(9), || async { Ok(Cached::Missing) }, tokio::time::sleep)
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
        let result = tokio::time::timeout(Duration::from_secs(2), waiter).await;
        assert_eq!(
            result.expect("the waiter finished").expect("no panic"),
            Ok(Cached::Missing)
        );
    }
}
