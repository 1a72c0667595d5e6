//! The on-demand source: every answer is looked up where it is cheapest and read from the
//! portal only when nobody has it.
//!
//! For each id, in order: this instance's cache (a hit near the end of its life also asks for a
//! background refresh), the shared cache (another instance's answer, kept here for what is left
//! of its life), then the upstream. Misses are coalesced: the first request to miss an id leads
//! its flight and asks the upstream for all the ids it leads at once; later requests for the
//! same id follow and get the leader's answer. The leader keeps each answer ([`OnDemand::keep`],
//! the one place answers are stored) before its followers see it, and then owes the shared
//! cache its copy. When the upstream fails, the last good answer stands in while it is inside
//! the stale window.
//!
//! A caller may cause only so many cold reads a minute ([`WorkLimit`]): past it, its misses
//! answer `rate_limited` and the ids it would have led are left to others. Refreshes go past
//! the flights, at background urgency, and keep what they read the same way.
//!
//! A request that goes away drops its leads: their flights are abandoned and followers take
//! over, as they also do when a flight outlives its deadline (a Worker may never run drop code).
//!
//! Where instances share a cache that keeps claims (Redis), one flight per id spans them all:
//! a leader first claims its ids there. Ids another instance has claimed are not read here; the
//! leader looks for that instance's answer in the shared cache every [`SHARED_POLL`] until its
//! deadline, and reads an id itself only if the claim lapses or is given up without an answer
//! (the other read failed). Claims are given up once the answers are shared; a request that
//! goes away gives them up in the background where the platform can, or leaves them to lapse.

use std::time::Duration;

use bytes::Bytes;

use super::batcher::Demand;
use super::cache::{AnswerCache, Hit};
use super::flights::{Flights, Joined, Lead, Waiting};
use super::upstream::{Aged, Fetched, PortalUpstream, Upstream, FLIGHT_MARGIN};
use super::work_limit::WorkLimit;
use super::{Found, Health, Looked, Refresh, StockSource, Trace};
use crate::core::config::Settings;
use crate::core::domain::caller::CallerKey;
use crate::core::domain::error::ApiError;
use crate::core::domain::freshness::CacheStatus;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::kit::join::{join, join_all};
use crate::core::metrics::Snapshot;
use crate::core::portal::command::MAX_BATCH_COMMANDS;
use crate::core::portal::exchange::PortalExecutor;
use crate::core::ports::{
    CacheKey, Clock, NoSharedCache, OwnShare, PortalTransport, SharedBudget, SharedCache,
};
use crate::core::publish::cached::Cached;

/// Past this share of their life, records go along with another record's refresh.
const ALONG_AT: f64 = 0.5;
/// How often a leader waiting for another instance's read looks for its answer.
pub const SHARED_POLL: Duration = Duration::from_millis(20);

/// What became of an id another instance was reading.
enum Elsewhere {
    /// Its answer, from the shared cache.
    Answered(Aged),
    /// Its claim lapsed or was given up without an answer: this instance now holds it.
    Claimed,
    /// Neither before the deadline.
    TimedOut,
}

/// The on-demand source over `U`, on clock `C`, with shared cache `S`.
pub struct OnDemand<U, C, S = NoSharedCache> {
    upstream: U,
    clock: C,
    shared: S,
    records: AnswerCache<RecordId>,
    products: AnswerCache<ProductId>,
    flights: Flights<CacheKey, Fetched>,
    waiting: Waiting,
    lifetimes: Lifetimes,
    /// How long a record read may take; a product read (two exchanges) twice that.
    timeout: Duration,
    work: WorkLimit,
}

/// How long an answer is kept: a record or product, or the news that there is none.
#[derive(Debug, Clone, Copy)]
struct Lifetimes {
    found: Duration,
    missing: Duration,
}

impl Lifetimes {
    fn of(self, value: &Cached) -> Duration {
        match value {
            Cached::Missing | Cached::TooLarge => self.missing,
            _ => self.found,
        }
    }
}

/// The source most deployments run: the portal behind `T`, on this instance's budget share,
/// or on budget `B` and cache `S` shared with other replicas.
pub type PortalSource<T, C, S = NoSharedCache, B = OwnShare> =
    OnDemand<PortalUpstream<PortalExecutor<T, B>>, C, S>;

impl<T: PortalTransport, C: Clock> PortalSource<T, C> {
    /// Reads the portal through `transport` with the settings' budget share; waiters are woken
    /// by the request they wait for (native runtimes).
    pub fn over_portal(settings: &Settings, transport: T, clock: C) -> Self {
        let executor = PortalExecutor::from_settings(settings, transport, settings.budget);
        let upstream = PortalUpstream::new(settings, executor, Waiting::Woken);
        OnDemand::new(settings, upstream, clock, Waiting::Woken)
    }
}

impl<T: PortalTransport, C: Clock, S: SharedCache + SharedBudget + Clone> PortalSource<T, C, S, S> {
    /// Reads the portal through `transport` on the budget and the cache every replica shares
    /// (`shared`, Redis), and on this instance's own share and cache while it cannot be asked.
    pub fn over_shared_portal(settings: &Settings, transport: T, clock: C, shared: S) -> Self {
        let executor = PortalExecutor::from_settings(settings, transport, settings.budget)
            .with_shared_budget(shared.clone(), settings.deployment_budget);
        let upstream = PortalUpstream::new(settings, executor, Waiting::Woken);
        OnDemand::new(settings, upstream, clock, Waiting::Woken).with_shared_cache(shared)
    }
}

impl<U: Upstream, C: Clock> OnDemand<U, C> {
    /// `waiting`: how requests waiting for another's read learn its result (the Worker needs
    /// [`Waiting::Polling`]).
    pub fn new(settings: &Settings, upstream: U, clock: C, waiting: Waiting) -> Self {
        Self {
            upstream,
            clock,
            shared: NoSharedCache,
            records: AnswerCache::new(settings.cache_max_entries, settings.stale_if_error),
            products: AnswerCache::new(settings.cache_max_entries, settings.stale_if_error),
            flights: Flights::new(settings.upstream_timeout * 2 + FLIGHT_MARGIN),
            waiting,
            lifetimes: Lifetimes {
                found: settings.cache_ttl,
                missing: settings.negative_ttl,
            },
            timeout: settings.upstream_timeout,
            work: WorkLimit::new(settings.caller_work_per_min),
        }
    }
}

impl<U, C, S> OnDemand<U, C, S> {
    pub fn with_shared_cache<S2: SharedCache>(self, shared: S2) -> OnDemand<U, C, S2> {
        OnDemand {
            upstream: self.upstream,
            clock: self.clock,
            shared,
            records: self.records,
            products: self.products,
            flights: self.flights,
            waiting: self.waiting,
            lifetimes: self.lifetimes,
            timeout: self.timeout,
            work: self.work,
        }
    }

    pub fn upstream(&self) -> &U {
        &self.upstream
    }
}

impl<U: Upstream, C: Clock, S: SharedCache> OnDemand<U, C, S> {
    /// Looks up every key (all records, or one product): caches first, then the upstream.
    async fn look(&self, keys: &[CacheKey], trace: &mut Trace) -> Vec<Looked> {
        let now = self.clock.monotonic();
        let mut looked: Vec<Option<Looked>> = vec![None; keys.len()];
        let mut missed: Vec<usize> = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            match self.fresh(*key, now) {
                Some(hit) => {
                    if hit.refresh {
                        match *key {
                            CacheKey::Record(id) => trace.refresh.records.push(id),
                            CacheKey::Product(id) => trace.refresh.products.push(id),
                        }
                    }
                    looked[index] = Some(Ok(Found {
                        value: hit.value,
                        status: CacheStatus::Hit,
                        age: Some(hit.age),
                        fresh_for: hit.promised.then_some(hit.life_left),
                    }));
                }
                None => missed.push(index),
            }
        }
        if !missed.is_empty() {
            missed = self.shared_hits(keys, missed, &mut looked).await;
        }
        if !missed.is_empty() {
            let misses: Vec<CacheKey> = missed.iter().map(|&i| keys[i]).collect();
            let started = self.clock.monotonic();
            // Boxed, only on a miss: the read's future is deep (flights, claims, batcher,
            // executor), and inline it would pass the compiler's layout depth limit in every
            // runtime's request future.
            let fetched = Box::pin(self.fetch(&misses, trace.caller)).await;
            trace.upstream = Some(self.clock.monotonic().saturating_sub(started));
            for (&index, result) in missed.iter().zip(fetched) {
                looked[index] = Some(match result {
                    // From a table kept upstream (a coordinator's mirror): as old as it is there.
                    Ok(Aged {
                        value,
                        age,
                        life: Some(life),
                        stale,
                    }) => Ok(Found {
                        value,
                        status: if stale {
                            CacheStatus::Stale
                        } else {
                            CacheStatus::Hit
                        },
                        age: Some(age),
                        fresh_for: Some(life),
                    }),
                    Ok(aged) => Ok(found(aged.value, CacheStatus::Miss, None)),
                    Err(error) => self.stale(keys[index], error),
                });
            }
            self.stale_elsewhere(keys, &missed, &mut looked).await;
        }
        looked
            .into_iter()
            .map(|l| {
                let looked = l.unwrap_or(Err(ApiError::UpstreamError));
                trace.found(&looked);
                looked
            })
            .collect()
    }

    fn fresh(&self, key: CacheKey, now: Duration) -> Option<Hit<Cached>> {
        match key {
            CacheKey::Record(id) => self.records.fresh(id, now),
            CacheKey::Product(id) => self.products.fresh(id, now),
        }
    }

    /// The last good answer when the upstream failed, if inside the stale window.
    fn stale(&self, key: CacheKey, error: ApiError) -> Looked {
        if !error.is_upstream_failure() {
            return Err(error);
        }
        let now = self.clock.monotonic();
        let stale = match key {
            CacheKey::Record(id) => self.records.stale(id, now),
            CacheKey::Product(id) => self.products.stale(id, now),
        };
        match stale {
            Some((value, age)) => Ok(found(value, CacheStatus::Stale, Some(age))),
            None => Err(error),
        }
    }

    /// For reads the portal failed and no answer of this instance stands in for: another
    /// instance's last good answer in the shared cache, inside the same stale window.
    async fn stale_elsewhere(
        &self,
        keys: &[CacheKey],
        missed: &[usize],
        looked: &mut [Option<Looked>],
    ) {
        let failed: Vec<usize> = missed
            .iter()
            .copied()
            .filter(|&i| matches!(&looked[i], Some(Err(e)) if e.is_upstream_failure()))
            .collect();
        if failed.is_empty() {
            return;
        }
        let gets = failed
            .iter()
            .map(|&i| self.shared.get_stale(keys[i]))
            .collect();
        for (index, entry) in failed.into_iter().zip(join_all(gets).await) {
            let Some((bytes, age)) = entry else { continue };
            if let Some(value) = Cached::from_bytes(&bytes) {
                looked[index] = Some(Ok(found(value, CacheStatus::Stale, Some(age))));
            }
        }
    }

    /// Tries the shared level for the missed keys; answers those still missing.
    async fn shared_hits(
        &self,
        keys: &[CacheKey],
        missed: Vec<usize>,
        looked: &mut [Option<Looked>],
    ) -> Vec<usize> {
        let gets = missed.iter().map(|&i| self.shared.get(keys[i])).collect();
        let mut still = Vec::new();
        for (index, entry) in missed.into_iter().zip(join_all(gets).await) {
            let Some(aged) =
                entry.and_then(|(bytes, age)| Some(Aged::new(Cached::from_bytes(&bytes)?, age)))
            else {
                still.push(index);
                continue;
            };
            // Kept here for what is left of its life; the shared level has it already.
            let _ = self.keep(keys[index], &aged);
            looked[index] = Some(Ok(found(aged.value, CacheStatus::Hit, Some(aged.age))));
        }
        still
    }

    /// How long reading `keys` may take: a product read (pages) twice a record read.
    fn deadline(&self, keys: &[CacheKey]) -> Duration {
        let products = keys.iter().any(|k| matches!(k, CacheKey::Product(_)));
        let budget = if products {
            self.timeout * 2
        } else {
            self.timeout
        };
        self.clock.monotonic() + budget
    }

    /// Reads `keys` from the upstream for `caller`, past the caches, one flight per key: this
    /// request leads the keys nobody is reading and asks for them at once (within the caller's
    /// work limit), and follows the others.
    pub async fn fetch(&self, keys: &[CacheKey], caller: Option<CallerKey>) -> Vec<Fetched> {
        let deadline = self.deadline(keys);
        let demand = Demand::caller(caller);
        let mut results: Vec<Option<Fetched>> = vec![None; keys.len()];
        let mut wanted: Vec<usize> = (0..keys.len()).collect();
        let mut owed: Vec<(CacheKey, Bytes, Duration)> = Vec::new();
        // Given up in the end; given up in the background if this request goes away first.
        let mut claimed = Claims {
            shared: &self.shared,
            keys: Vec::new(),
        };
        while !wanted.is_empty() && self.clock.monotonic() < deadline {
            let now = self.clock.monotonic();
            let mut leads: Vec<(usize, Lead<CacheKey, Fetched>)> = Vec::new();
            let mut follows = Vec::new();
            for index in wanted {
                match self.flights.join(keys[index], now) {
                    Joined::Lead(lead) => match self.landed_meanwhile(keys[index], now) {
                        // A flight that landed after this request missed the cache left its
                        // answer there (kept before landing): no second portal call for it.
                        Some(aged) => {
                            lead.land(Ok(aged.clone()));
                            results[index] = Some(Ok(aged));
                        }
                        None => leads.push((index, lead)),
                    },
                    Joined::Follow(flight) => follows.push((index, flight)),
                }
            }
            if let Err(retry_after_secs) = self.work.take(caller, leads.len(), now) {
                // Dropped leads: anyone else waiting for these ids leads them instead.
                for (index, _) in leads.drain(..) {
                    results[index] = Some(Err(ApiError::RateLimited { retry_after_secs }));
                }
            }
            if !leads.is_empty() {
                let hold = deadline.saturating_sub(now) + FLIGHT_MARGIN;
                let claims = leads
                    .iter()
                    .map(|(_, lead)| self.shared.claim(*lead.key(), hold))
                    .collect();
                let (mut mine, mut elsewhere) = (Vec::new(), Vec::new());
                for (lead, claimed_here) in leads.into_iter().zip(join_all(claims).await) {
                    if claimed_here {
                        claimed.keys.push(*lead.1.key());
                        mine.push(lead);
                    } else {
                        elsewhere.push(lead);
                    }
                }
                // This instance's reads and the waits for another instance's go on together.
                let asked: Vec<CacheKey> = mine.iter().map(|(_, lead)| *lead.key()).collect();
                let waits = elsewhere
                    .iter()
                    .map(|(_, lead)| self.answered_elsewhere(*lead.key(), hold, deadline))
                    .collect();
                let (answers, outcomes) =
                    join(self.ask(&asked, demand, deadline), join_all(waits)).await;
                self.land(mine, answers, keys, &mut results, &mut owed);
                let mut taken = Vec::new();
                for ((index, lead), outcome) in elsewhere.into_iter().zip(outcomes) {
                    match outcome {
                        Elsewhere::Answered(aged) => {
                            self.shared.joined();
                            let _ = self.keep(keys[index], &aged);
                            lead.land(Ok(aged.clone()));
                            results[index] = Some(Ok(aged));
                        }
                        Elsewhere::Claimed => {
                            claimed.keys.push(*lead.key());
                            taken.push((index, lead));
                        }
                        Elsewhere::TimedOut => {
                            lead.land(Err(ApiError::UpstreamTimeout));
                            results[index] = Some(Err(ApiError::UpstreamTimeout));
                        }
                    }
                }
                if !taken.is_empty() {
                    let asked: Vec<CacheKey> = taken.iter().map(|(_, lead)| *lead.key()).collect();
                    let answers = self.ask(&asked, demand, deadline).await;
                    self.land(taken, answers, keys, &mut results, &mut owed);
                }
            }
            let mut unsettled = Vec::new();
            for (index, flight) in follows {
                match flight.wait(self.waiting, deadline, &self.clock).await {
                    Some(result) => results[index] = Some(result),
                    None => unsettled.push(index),
                }
            }
            wanted = unsettled;
        }
        self.share(owed).await;
        let keys = std::mem::take(&mut claimed.keys);
        join_all(
            keys.into_iter()
                .map(|key| self.shared.release(key))
                .collect(),
        )
        .await;
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(ApiError::UpstreamTimeout)))
            .collect()
    }

    /// Lands what this request read for `leads`: each answer kept (and, with a life left, owed
    /// to the shared cache), then given to its flight's followers.
    fn land(
        &self,
        leads: Vec<(usize, Lead<CacheKey, Fetched>)>,
        answers: Vec<Fetched>,
        keys: &[CacheKey],
        results: &mut [Option<Fetched>],
        owed: &mut Vec<(CacheKey, Bytes, Duration)>,
    ) {
        for ((index, lead), result) in leads.into_iter().zip(answers) {
            if let Some(aged) = result.as_ref().ok().filter(|aged| !aged.stale) {
                owed.extend(self.keep(keys[index], aged));
            }
            lead.land(result.clone());
            results[index] = Some(result);
        }
    }

    /// Waits for the answer of the instance that claimed `key`, in the shared cache, until
    /// `deadline`; takes the claim over when it is gone.
    async fn answered_elsewhere(
        &self,
        key: CacheKey,
        hold: Duration,
        deadline: Duration,
    ) -> Elsewhere {
        loop {
            if let Some((bytes, age)) = self.shared.get(key).await {
                if let Some(value) = Cached::from_bytes(&bytes) {
                    return Elsewhere::Answered(Aged::new(value, age));
                }
            }
            if self.shared.claim(key, hold).await {
                return Elsewhere::Claimed;
            }
            let left = deadline.saturating_sub(self.clock.monotonic());
            if left.is_zero() {
                return Elsewhere::TimedOut;
            }
            self.clock.sleep(SHARED_POLL.min(left)).await;
        }
    }

    /// The cached answer for `key`, when one arrived since this request looked.
    fn landed_meanwhile(&self, key: CacheKey, now: Duration) -> Option<Aged> {
        let hit = self.fresh(key, now)?;
        Some(Aged {
            value: hit.value,
            age: hit.age,
            life: hit.promised.then_some(hit.life_left),
            stale: false,
        })
    }

    /// Reads `keys` again at background urgency, past the caches and the flights (callers'
    /// reads of the same ids go apart, at their own urgency), and keeps what comes back. It
    /// may wait for a slot, gathering other refreshes, while the cached answers still stand:
    /// for a fifth of an answer's life, the part left when a refresh is asked for.
    ///
    /// Where instances share a cache, an id another instance refreshed already is taken from
    /// there, and one another instance is refreshing is left to it (its answer is: the others
    /// take it when theirs runs out), so an id is read once a lifetime for all of them.
    pub async fn reread(&self, keys: &[CacheKey]) -> Vec<Fetched> {
        let deadline = self.clock.monotonic() + self.lifetimes.found / 5;
        let mut results: Vec<Option<Fetched>> = vec![None; keys.len()];
        let mut here = Vec::new();
        let hold = self.lifetimes.found / 5 + FLIGHT_MARGIN;
        let elsewhere = keys
            .iter()
            .map(|key| self.refreshed_elsewhere(*key, hold))
            .collect();
        for (index, found) in join_all(elsewhere).await.into_iter().enumerate() {
            match found {
                Some(result) => results[index] = Some(result),
                None => here.push(index),
            }
        }
        let asked: Vec<CacheKey> = here.iter().map(|&i| keys[i]).collect();
        let answers = if asked.is_empty() {
            Vec::new()
        } else {
            self.ask(&asked, Demand::BACKGROUND, deadline).await
        };
        let mut owed = Vec::new();
        for (&index, answer) in here.iter().zip(answers) {
            if let Some(aged) = answer.as_ref().ok().filter(|aged| !aged.stale) {
                owed.extend(self.keep(keys[index], aged));
            }
            results[index] = Some(answer);
        }
        self.share(owed).await;
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(ApiError::UpstreamError)))
            .collect()
    }

    /// `None` when this instance should refresh `key`; otherwise what another instance did: a
    /// newer answer in the shared cache (kept here), or a refresh under way there.
    async fn refreshed_elsewhere(&self, key: CacheKey, hold: Duration) -> Option<Fetched> {
        if let Some((bytes, age)) = self.shared.get(key).await {
            let ours = self.fresh(key, self.clock.monotonic()).map(|hit| hit.age);
            // Newer by more than clock noise: the same answer read back is not a refresh.
            let newer = ours.is_none_or(|ours| age + self.lifetimes.found / 10 < ours);
            if let Some(value) = Cached::from_bytes(&bytes).filter(|_| newer) {
                let aged = Aged::new(value, age);
                let _ = self.keep(key, &aged);
                return Some(Ok(aged));
            }
        }
        if self.shared.claim_refresh(key, hold).await {
            return None;
        }
        Some(Err(ApiError::UpstreamBusy {
            retry_after_secs: 1,
        }))
    }

    /// The shared cache's copies, owed by whoever fetched them.
    async fn share(&self, owed: Vec<(CacheKey, Bytes, Duration)>) {
        let puts = owed
            .into_iter()
            .map(|(key, bytes, life_left)| self.shared.put(key, bytes, life_left))
            .collect();
        join_all(puts).await;
    }

    /// One upstream request for the records among `keys`, and one per product, in key order.
    async fn ask(&self, keys: &[CacheKey], demand: Demand, deadline: Duration) -> Vec<Fetched> {
        let ids: Vec<RecordId> = keys
            .iter()
            .filter_map(|k| match k {
                CacheKey::Record(id) => Some(*id),
                CacheKey::Product(_) => None,
            })
            .collect();
        let mut records = if ids.is_empty() {
            Vec::new()
        } else {
            self.upstream
                .records(&self.clock, &ids, demand, deadline)
                .await
        }
        .into_iter();
        let products = keys
            .iter()
            .filter_map(|k| match k {
                CacheKey::Product(id) => {
                    Some(self.upstream.product(&self.clock, *id, demand, deadline))
                }
                CacheKey::Record(_) => None,
            })
            .collect();
        let mut products = join_all(products).await.into_iter();
        keys.iter()
            .map(|key| {
                let next = match key {
                    CacheKey::Record(_) => records.next(),
                    CacheKey::Product(_) => products.next(),
                };
                next.unwrap_or(Err(ApiError::UpstreamError))
            })
            .collect()
    }

    /// Keeps an answer that is already `age` old: its life counts from when the portal gave
    /// it. The only place answers are stored; what is left of its life is owed to the shared
    /// cache by whoever fetched it (`None` when nothing is left).
    fn keep(&self, key: CacheKey, aged: &Aged) -> Option<(CacheKey, Bytes, Duration)> {
        let lifetime = match aged.life {
            Some(life) => aged.age + life,
            None => self.lifetimes.of(&aged.value),
        };
        let stored_at = self.clock.monotonic().saturating_sub(aged.age);
        let promised = aged.life.is_some();
        let value = aged.value.clone();
        match key {
            CacheKey::Record(id) => self.records.store(id, value, stored_at, lifetime, promised),
            CacheKey::Product(id) => self
                .products
                .store(id, value, stored_at, lifetime, promised),
        }
        let life_left = lifetime.saturating_sub(aged.age);
        (!life_left.is_zero()).then(|| (key, aged.value.to_bytes(), life_left))
    }
}

impl<U: Upstream, C: Clock, S: SharedCache> StockSource for OnDemand<U, C, S> {
    async fn records(&self, ids: &[RecordId], trace: &mut Trace) -> Vec<Looked> {
        let keys: Vec<CacheKey> = ids.iter().map(|id| CacheKey::Record(*id)).collect();
        self.look(&keys, trace).await
    }

    async fn product(&self, id: ProductId, trace: &mut Trace) -> Looked {
        let mut looked = self.look(&[CacheKey::Product(id)], trace).await;
        looked.pop().unwrap_or(Err(ApiError::UpstreamError))
    }

    /// At background urgency: callers come first, and refreshes due together travel together.
    /// A refresh of records also takes along the records past half their life that have not
    /// asked yet, up to a batch: records read steadily then fall into step, and one portal
    /// request a round refreshes them all.
    async fn refresh(&self, mut work: Refresh) {
        if !work.records.is_empty() {
            let room = MAX_BATCH_COMMANDS.saturating_sub(work.records.len());
            let due: Vec<RecordId> = self
                .records
                .due(self.clock.monotonic(), ALONG_AT, room)
                .into_iter()
                .filter(|id| !work.records.contains(id))
                .collect();
            work.records.extend(due);
        }
        let records = work.records.iter().map(|id| CacheKey::Record(*id));
        let products = work.products.iter().map(|id| CacheKey::Product(*id));
        for keys in [records.collect::<Vec<_>>(), products.collect()] {
            if !keys.is_empty() {
                // Boxed like a miss's read (see `look`).
                let _ = Box::pin(self.reread(&keys)).await;
            }
        }
    }

    async fn health(&self) -> Health {
        let mut health = self
            .upstream
            .health(&self.clock)
            .await
            .unwrap_or(Health::ON_DEMAND);
        health.problem = health.problem.or(self.upstream.access().problem);
        health.inventory_accounting = health
            .inventory_accounting
            .or(self.upstream.inventory_accounting());
        health.shared_state = self.shared.status();
        health
    }

    fn report(&self, snapshot: &mut Snapshot) {
        self.upstream.report(snapshot, self.clock.monotonic());
        snapshot.cache_entries = (self.records.len() + self.products.len()) as u64;
        snapshot.shared_state = self.shared.status();
    }
}

/// Claims on ids in the shared cache this request holds: a request that goes away mid-read
/// gives them up in the background, so that other instances read the ids at once rather than
/// waiting for the claims to lapse.
struct Claims<'a, S: SharedCache> {
    shared: &'a S,
    keys: Vec<CacheKey>,
}

impl<S: SharedCache> Drop for Claims<'_, S> {
    fn drop(&mut self) {
        for key in self.keys.drain(..) {
            self.shared.release_soon(key);
        }
    }
}

fn found(value: Cached, status: CacheStatus, age: Option<Duration>) -> Found {
    Found {
        value,
        status,
        age,
        fresh_for: None,
    }
}
