//! What the gateway counts for its operator: requests by route and status, cache results,
//! portal exchanges by outcome, portal requests, batch sizes, and how full the local portal
//! budget is. Platform-free atomics; each adapter exports them its own way (Prometheus on the
//! local server, CloudWatch Embedded Metric Format on the Lambda, JSON log lines on the Worker).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::core::domain::error::ApiError;
use crate::core::domain::freshness::CacheStatus;
use crate::core::domain::reads::Outcome;
use crate::core::domain::shared_state::SharedStateHealth;
use crate::core::kit::lock::lock;

/// Upper bounds of the batch-size buckets (commands per portal exchange).
pub const BATCH_BUCKETS: [u64; 5] = [1, 5, 10, 25, 50];

/// How a portal exchange ended, as far as callers are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExchangeOutcome {
    /// Every command got an answer (a record, a page, or "no such record").
    Ok,
    /// Refused for the budget, the portal's rate limit or its operating-time block.
    Busy,
    Error,
    Timeout,
}

impl ExchangeOutcome {
    pub const ALL: [ExchangeOutcome; 4] = [Self::Ok, Self::Busy, Self::Error, Self::Timeout];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Busy => "busy",
            Self::Error => "error",
            Self::Timeout => "timeout",
        }
    }

    /// The worst of an exchange's outcomes.
    pub fn of(outcomes: &[Outcome]) -> Self {
        outcomes
            .iter()
            .map(|outcome| match outcome {
                Ok(_) => Self::Ok,
                Err(ApiError::UpstreamBusy { .. }) => Self::Busy,
                Err(ApiError::UpstreamTimeout) => Self::Timeout,
                Err(_) => Self::Error,
            })
            .max()
            .unwrap_or(Self::Ok)
    }
}

/// Portal exchanges: kept by each batcher (a gateway's, or a coordinator's).
#[derive(Debug, Default)]
pub struct ExchangeStats {
    outcomes: [AtomicU64; 4],
    portal_requests: AtomicU64,
    batch_buckets: [AtomicU64; 5],
    batch_commands: AtomicU64,
}

impl ExchangeStats {
    /// One exchange of `commands` commands that took `portal_requests` HTTP requests.
    pub fn record(&self, commands: usize, portal_requests: u32, outcome: ExchangeOutcome) {
        self.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.portal_requests
            .fetch_add(u64::from(portal_requests), Ordering::Relaxed);
        let size = commands as u64;
        let bucket = BATCH_BUCKETS
            .iter()
            .position(|bound| size <= *bound)
            .unwrap_or(BATCH_BUCKETS.len() - 1);
        self.batch_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.batch_commands.fetch_add(size, Ordering::Relaxed);
    }
}

/// Requests and cache results: kept by the gateway.
#[derive(Debug, Default)]
pub struct RequestStats {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    cache: [AtomicU64; 3],
}

impl RequestStats {
    pub fn record(&self, route: &'static str, status: u16, cache: Option<CacheStatus>) {
        *lock(&self.requests).entry((route, status)).or_default() += 1;
        if let Some(cache) = cache {
            self.cache[cache_index(cache)].fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn cache_index(status: CacheStatus) -> usize {
    match status {
        CacheStatus::Hit => 0,
        CacheStatus::Miss => 1,
        CacheStatus::Stale => 2,
    }
}

/// A mirror's state: its table, and its sweeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MirrorHealth {
    /// Records in the table in service.
    pub rows: u64,
    /// How old the oldest range of the table in service is.
    pub oldest_age: Option<Duration>,
    /// Sweeps finished and failed since start.
    pub sweeps: u64,
    pub failures: u64,
    /// The last finished sweep: how long it took, and (finished or not) its portal requests.
    pub last_duration: Option<Duration>,
    pub last_requests: u32,
    /// When the last sweep finished (Unix time).
    pub last_finished: Option<Duration>,
    /// The last sweep failed, or took longer than the interval at this budget share.
    pub behind: bool,
}

/// Everything counted so far (totals since start), and the budget level now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `(route, status) -> requests`
    pub requests: BTreeMap<(&'static str, u16), u64>,
    /// Hits, misses and stale answers.
    pub cache: [u64; 3],
    /// Exchanges by [`ExchangeOutcome`] (in `ExchangeOutcome::ALL` order).
    pub exchanges: [u64; 4],
    pub portal_requests: u64,
    /// Exchanges per batch-size bucket ([`BATCH_BUCKETS`]), not cumulative.
    pub batch_buckets: [u64; 5],
    pub batch_commands: u64,
    /// How full the local portal budget is, 0 to 1 (absent when another instance holds it).
    pub budget_level: Option<f64>,
    /// Entries in this instance's answer caches now (records and products; held until a full
    /// cache frees room, so this rises to a plateau and stays there).
    pub cache_entries: u64,
    /// The mirror's state, in mirror mode.
    pub mirror: Option<MirrorHealth>,
    /// Exchanges the portal refused for the webhook's credentials.
    pub credential_failures: u64,
    /// The store replicas share, when one is configured (totals since start).
    pub shared_state: Option<SharedStateHealth>,
}

impl RequestStats {
    /// Adds the requests and cache results counted so far.
    pub fn report(&self, snapshot: &mut Snapshot) {
        snapshot.requests = lock(&self.requests).clone();
        for (total, counter) in snapshot.cache.iter_mut().zip(&self.cache) {
            *total += counter.load(Ordering::Relaxed);
        }
    }
}

impl Snapshot {
    /// Adds one batcher's exchanges (a source may have several: its own, and a fallback's).
    pub fn add_exchanges(&mut self, exchanges: &ExchangeStats) {
        let add = |totals: &mut [u64], counters: &[AtomicU64]| {
            for (total, counter) in totals.iter_mut().zip(counters) {
                *total += counter.load(Ordering::Relaxed);
            }
        };
        add(&mut self.exchanges, &exchanges.outcomes);
        add(&mut self.batch_buckets, &exchanges.batch_buckets);
        self.portal_requests += exchanges.portal_requests.load(Ordering::Relaxed);
        self.batch_commands += exchanges.batch_commands.load(Ordering::Relaxed);
    }

    /// What happened between `earlier` and this snapshot (counters only; the level is now's).
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let minus = |a: &[u64], b: &[u64]| -> Vec<u64> {
            a.iter().zip(b).map(|(a, b)| a.saturating_sub(*b)).collect()
        };
        let requests = self
            .requests
            .iter()
            .filter_map(|(key, n)| {
                let delta = n.saturating_sub(earlier.requests.get(key).copied().unwrap_or(0));
                (delta > 0).then_some((*key, delta))
            })
            .collect();
        let cache = minus(&self.cache, &earlier.cache);
        let exchanges = minus(&self.exchanges, &earlier.exchanges);
        let buckets = minus(&self.batch_buckets, &earlier.batch_buckets);
        Snapshot {
            requests,
            cache: [cache[0], cache[1], cache[2]],
            exchanges: [exchanges[0], exchanges[1], exchanges[2], exchanges[3]],
            portal_requests: self.portal_requests.saturating_sub(earlier.portal_requests),
            batch_buckets: [buckets[0], buckets[1], buckets[2], buckets[3], buckets[4]],
            batch_commands: self.batch_commands.saturating_sub(earlier.batch_commands),
            budget_level: self.budget_level,
            cache_entries: self.cache_entries,
            mirror: self.mirror.clone(),
            credential_failures: self
                .credential_failures
                .saturating_sub(earlier.credential_failures),
            shared_state: self.shared_state.map(|now| {
                let before = earlier.shared_state.unwrap_or_default();
                SharedStateHealth {
                    reachable: now.reachable,
                    budget_waits: now.budget_waits.saturating_sub(before.budget_waits),
                    flights_joined: now.flights_joined.saturating_sub(before.flights_joined),
                    fallbacks: now.fallbacks.saturating_sub(before.fallbacks),
                }
            }),
        }
    }

    pub fn is_quiet(&self) -> bool {
        self.requests.is_empty() && self.exchanges.iter().all(|n| *n == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_differences() {
        let (requests, exchanges) = (RequestStats::default(), ExchangeStats::default());
        requests.record("v1.store_product", 200, Some(CacheStatus::Hit));
        requests.record("v1.store_product", 200, Some(CacheStatus::Miss));
        exchanges.record(1, 1, ExchangeOutcome::Ok);
        exchanges.record(37, 2, ExchangeOutcome::Busy);
        let read = |requests: &RequestStats, exchanges: &ExchangeStats| {
            let mut snapshot = Snapshot::default();
            requests.report(&mut snapshot);
            snapshot.add_exchanges(exchanges);
            snapshot
        };
        let first = read(&requests, &exchanges);
        assert_eq!(first.requests[&("v1.store_product", 200)], 2);
        assert_eq!(first.cache, [1, 1, 0]);
        assert_eq!(first.exchanges, [1, 1, 0, 0]);
        assert_eq!(first.portal_requests, 3);
        assert_eq!(first.batch_buckets, [1, 0, 0, 0, 1]);
        assert_eq!(first.batch_commands, 38);
        requests.record("healthz", 200, None);
        let delta = read(&requests, &exchanges).since(&first);
        assert_eq!(delta.requests.len(), 1);
        assert_eq!(delta.requests[&("healthz", 200)], 1);
        assert_eq!(delta.portal_requests, 0);
        assert!(!delta.is_quiet());
    }

    #[test]
    fn an_exchange_is_as_bad_as_its_worst_command() {
        assert_eq!(ExchangeOutcome::of(&[]), ExchangeOutcome::Ok);
        assert_eq!(
            ExchangeOutcome::of(&[
                Ok(crate::core::domain::reads::Read::Record(None)),
                Err(ApiError::UpstreamTimeout)
            ]),
            ExchangeOutcome::Timeout
        );
    }
}
