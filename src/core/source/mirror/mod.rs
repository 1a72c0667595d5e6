//! The mirror: a source that keeps the whole public stock table and answers every read from
//! it, so public traffic never reaches the portal. The portal's load is the sweeps', one every
//! `STOCK_MIRROR_INTERVAL_SECS` ([`sweep`]), whatever the callers do; an unknown id costs
//! nothing.
//!
//! - An answer's `Age` is the time since its range was read; its `max-age` the time left to
//!   the next sweep. A record missing from the table is gone (404), and so is every id above the
//!   highest one.
//! - A finished sweep replaces the whole table. A failing sweep leaves the last complete one in
//!   service up to the stale window past its promise (answers say `STALE`), then 503.
//! - Before the first table, reads are served by the fallback source (on demand), and
//!   [`StockSource::health`] says so.
//! - The table is kept as published bytes where other instances can read it ([`TableStore`]):
//!   a mirror that only reads ([`Mirror::reader`]) never sweeps and never calls the portal.
//! - Hot answers are rendered once per table, like the on-demand cache's.

pub mod sweep;
pub mod table;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sweep::{SweepFailed, Sweeper, Swept};
use table::Table;

use super::flights::Waiting;
use super::on_demand::OnDemand;
use super::upstream::PortalUpstream;
use super::{Found, Health, Looked, Refresh, StockSource, Trace};
use crate::core::config::Settings;
use crate::core::domain::error::ApiError;
use crate::core::domain::freshness::CacheStatus;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::policy::Policy;
use crate::core::domain::product::product_stock;
use crate::core::kit::lock::lock;
use crate::core::metrics::{MirrorHealth, Snapshot};
use crate::core::portal::exchange::PortalExecutor;
use crate::core::ports::{
    Clock, Executor, NoSharedCache, OwnShare, PortalTransport, SharedBudget, SharedCache,
    SweepLease, TableStore,
};
use crate::core::publish::cached::Cached;
use crate::core::publish::render::{render_parent, render_product, render_record};

/// The mirror most deployments run: the portal behind `T` for sweeps and, until the first table,
/// on demand, both spending one budget share (or budget `B`, shared with other replicas, with
/// their cache `SC`); its table kept in `S`.
pub type PortalMirror<T, C, S, B = OwnShare, SC = NoSharedCache> = Mirror<
    OnDemand<PortalUpstream<Arc<PortalExecutor<T, B>>>, C, SC>,
    Arc<PortalExecutor<T, B>>,
    C,
    S,
>;

impl<T: PortalTransport, C: Clock + Clone, S: TableStore> PortalMirror<T, C, S> {
    pub fn over_portal(settings: &Settings, transport: T, clock: C, store: S) -> Self {
        let executor = Arc::new(PortalExecutor::from_settings(
            settings,
            transport,
            settings.budget,
        ));
        let upstream = PortalUpstream::new(settings, executor.clone(), Waiting::Woken);
        let fallback = OnDemand::new(settings, upstream, clock.clone(), Waiting::Woken);
        Mirror::sweeping(settings, fallback, executor, clock, store)
    }
}

impl<T, C, S> PortalMirror<T, C, S, S, S>
where
    T: PortalTransport,
    C: Clock + Clone,
    S: TableStore + SharedBudget + SharedCache + Clone,
{
    /// The mirror of one replica among several sharing `shared` (Redis): the budget, the
    /// on-demand cache until the first table, and the table itself.
    pub fn over_shared_portal(settings: &Settings, transport: T, clock: C, shared: S) -> Self {
        let executor = Arc::new(
            PortalExecutor::from_settings(settings, transport, settings.budget)
                .with_shared_budget(shared.clone(), settings.deployment_budget),
        );
        let upstream = PortalUpstream::new(settings, executor.clone(), Waiting::Woken);
        let fallback = OnDemand::new(settings, upstream, clock.clone(), Waiting::Woken)
            .with_shared_cache(shared.clone());
        Mirror::sweeping(settings, fallback, executor, clock, shared)
    }
}

/// Time given to a sweep beyond its interval before its table counts as behind its promise:
/// a tenth of the interval, at least 5 s.
fn slack(interval: Duration) -> Duration {
    (interval / 10).max(Duration::from_secs(5))
}

/// The mirror over a fallback source `F` (serving until the first table), sweeping through
/// executor `X` (none for a reader), on clock `C`, keeping its table in store `T`.
pub struct Mirror<F, X, C, T> {
    fallback: F,
    sweeper: Option<Sweeper<X>>,
    store: T,
    clock: C,
    policy: Policy,
    interval: Duration,
    stale_for: Duration,
    max_rendered: usize,
    current: RwLock<Option<Arc<Current>>>,
    stats: Mutex<MirrorHealth>,
    /// When the store was last looked at (monotonic), for readers that look now and then.
    looked_at: Mutex<Option<Duration>>,
}

/// The table in service, and what was rendered from it.
struct Current {
    table: Table,
    /// When the next sweep is due (Unix time): an interval after this one began.
    next_sweep: Duration,
    /// How old an answer may grow before it is overdue: an interval, the slack, and as long as
    /// this sweep took (the next one will take about as long to reach the same ids).
    promise: Duration,
    /// The store's version of it, when it came from there.
    version: Option<String>,
    records: Mutex<HashMap<RecordId, Cached>>,
    products: Mutex<HashMap<ProductId, Cached>>,
}

impl<F, X: Executor, C: Clock, T: TableStore> Mirror<F, X, C, T> {
    /// A mirror that sweeps through `executor` and publishes its tables to `store`.
    pub fn sweeping(settings: &Settings, fallback: F, executor: X, clock: C, store: T) -> Self {
        Self::new(
            settings,
            fallback,
            Some(Sweeper::new(
                executor,
                settings.upstream_timeout,
                settings.flags_ttl,
                settings.policy.variations.parents(),
            )),
            clock,
            store,
        )
    }
}

impl<F, C: Clock, T: TableStore> Mirror<F, (), C, T> {
    /// A mirror that reads the tables another instance sweeps from `store`, and never calls
    /// the portal for them.
    pub fn reader(settings: &Settings, fallback: F, clock: C, store: T) -> Self {
        Self::new(settings, fallback, None, clock, store)
    }
}

impl<F, X, C: Clock, T: TableStore> Mirror<F, X, C, T> {
    fn new(
        settings: &Settings,
        fallback: F,
        sweeper: Option<Sweeper<X>>,
        clock: C,
        store: T,
    ) -> Self {
        Self {
            fallback,
            sweeper,
            store,
            clock,
            policy: settings.policy.clone(),
            interval: settings.mirror_interval,
            stale_for: settings.stale_if_error,
            max_rendered: settings.cache_max_entries,
            current: RwLock::new(None),
            stats: Mutex::new(MirrorHealth::default()),
            looked_at: Mutex::new(None),
        }
    }

    /// Records in the table in service.
    pub fn rows(&self) -> usize {
        self.current().map_or(0, |c| c.table.len())
    }

    /// How often it sweeps: its freshness promise.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn current(&self) -> Option<Arc<Current>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `table` in service.
    fn install(&self, table: Table, version: Option<String>) {
        {
            let mut stats = lock(&self.stats);
            stats.rows = table.len() as u64;
        }
        let took = table.newest().saturating_sub(table.oldest());
        let current = Current {
            next_sweep: table.oldest() + self.interval,
            promise: self.interval + slack(self.interval) + took,
            table,
            version,
            records: Mutex::new(HashMap::new()),
            products: Mutex::new(HashMap::new()),
        };
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(current));
    }

    /// Takes the store's table if it is newer than the one in service: at start (a restarted
    /// Durable Object answers at once) and, for a reader, every few seconds.
    pub async fn load(&self) -> bool {
        let known = self.current().and_then(|c| c.version.clone());
        match self.store.load(known.as_deref()).await {
            Ok(Some((bytes, version))) => match Table::from_bytes(&bytes) {
                Some(table) => {
                    self.install(table, Some(version));
                    true
                }
                None => {
                    tracing::warn!(
                        "the stored stock table is unreadable; keeping the one in service"
                    );
                    false
                }
            },
            Ok(None) => false,
            Err(()) => {
                tracing::warn!("the stock table store could not be read");
                false
            }
        }
    }

    /// [`Mirror::load`] if the store was last looked at `every` ago or more (a reader looks
    /// before answering, at most this often).
    pub async fn load_if_due(&self, every: Duration) -> bool {
        let now = self.clock.monotonic();
        {
            let mut looked_at = lock(&self.looked_at);
            if looked_at.is_some_and(|at| now.saturating_sub(at) < every) {
                return false;
            }
            *looked_at = Some(now);
        }
        self.load().await
    }

    /// Whether answers come from a table now, and how old its oldest range is.
    fn health_now(&self) -> MirrorHealth {
        let mut health = lock(&self.stats).clone();
        if let Some(current) = self.current() {
            let now = self.clock.unix_time();
            health.oldest_age = Some(now.saturating_sub(current.table.oldest()));
        }
        health
    }

    /// The answer for `key` from the table in service, rendered once per table.
    fn rendered<K: Copy + Eq + Hash>(
        &self,
        rendered: &Mutex<HashMap<K, Cached>>,
        key: K,
        render: impl FnOnce() -> Cached,
    ) -> Cached {
        if let Some(value) = lock(rendered).get(&key) {
            return value.clone();
        }
        let value = render();
        let mut rendered = lock(rendered);
        if rendered.len() >= self.max_rendered {
            rendered.clear();
        }
        if self.max_rendered > 0 {
            rendered.insert(key, value.clone());
        }
        value
    }

    /// The found answer for a value read at `read_at`, as fresh as the table's promise.
    fn found(&self, current: &Current, value: Cached, read_at: Duration) -> Looked {
        let now = self.clock.unix_time();
        let age = now.saturating_sub(read_at);
        let status = if age <= current.promise {
            CacheStatus::Hit
        } else if age <= current.promise + self.stale_for {
            CacheStatus::Stale
        } else {
            return Err(ApiError::UpstreamBusy {
                retry_after_secs: self.interval.as_secs().max(1),
            });
        };
        Ok(Found {
            value,
            status,
            age: Some(age),
            fresh_for: Some(current.next_sweep.saturating_sub(now)),
        })
    }

    fn record(&self, current: &Current, id: RecordId) -> Looked {
        let value = self.rendered(&current.records, id, || match current.table.record(id) {
            Some(record) if self.policy.admits(&record) => Cached::Record(render_record(
                &self.policy,
                &record,
                current.table.flags(record.product_id).as_ref(),
            )),
            // Missing, or in a hidden warehouse: the same answer either way.
            _ => Cached::Missing,
        });
        self.found(current, value, current.table.read_at(id))
    }

    fn product_of(&self, current: &Current, id: ProductId) -> Looked {
        if let Some(variations) = self.policy.variations.of(id) {
            return self.parent_of(current, id, variations);
        }
        let rows = current.table.product(id);
        let read_at = rows
            .iter()
            .map(|r| current.table.read_at(r.id))
            .min()
            .unwrap_or_else(|| current.table.oldest());
        let value = self.rendered(&current.products, id, || {
            match product_stock(id, &rows, &self.policy) {
                Some(stock) => Cached::Product(render_product(
                    &self.policy,
                    &stock,
                    current.table.flags(id).as_ref(),
                )),
                None => Cached::Missing,
            }
        });
        self.found(current, value, read_at)
    }

    /// A parent's answer from its variations' rows, as old as the oldest of them.
    fn parent_of(&self, current: &Current, id: ProductId, variations: &[ProductId]) -> Looked {
        let table = &current.table;
        let mut read_at: Option<Duration> = None;
        let mut stocks = Vec::with_capacity(variations.len());
        for variation in variations {
            let rows = table.product(*variation);
            for row in &rows {
                let at = table.read_at(row.id);
                read_at = Some(read_at.map_or(at, |old| old.min(at)));
            }
            if let Some(stock) = product_stock(*variation, &rows, &self.policy) {
                stocks.push((stock, table.flags(*variation)));
            }
        }
        let value = self.rendered(&current.products, id, || {
            match render_parent(&self.policy, id, table.flags(id).as_ref(), &stocks) {
                Some(body) => Cached::Product(body),
                None => Cached::Missing,
            }
        });
        self.found(current, value, read_at.unwrap_or_else(|| table.oldest()))
    }
}

impl<F, X: Executor, C: Clock, T: TableStore> Mirror<F, X, C, T> {
    /// One sweep within the interval: on success the table goes into service and to the
    /// store; on failure the last one stays. The outcome is logged and counted.
    pub async fn sweep(&self) -> Result<(), ApiError> {
        let Some(sweeper) = &self.sweeper else {
            return Ok(());
        };
        match sweeper.sweep(&self.clock, self.interval).await {
            Ok(Swept {
                table,
                requests,
                duration,
            }) => {
                let (rows, table_bytes) = (table.len(), table.heap_bytes());
                let bytes = self.store.keeps().then(|| table.to_bytes());
                self.install(table, None);
                if let Some(bytes) = bytes {
                    if self.store.save(bytes.into()).await.is_err() {
                        tracing::warn!(
                            "the stock table could not be stored; other instances keep the last one"
                        );
                    }
                }
                let behind = duration > self.interval;
                {
                    let mut stats = lock(&self.stats);
                    stats.sweeps += 1;
                    stats.last_duration = Some(duration);
                    stats.last_requests = requests;
                    stats.last_finished = Some(self.clock.unix_time());
                    stats.behind = behind;
                }
                if behind {
                    tracing::warn!(
                        duration_ms = duration.as_millis() as u64,
                        interval_secs = self.interval.as_secs(),
                        "sweep took longer than the interval at this budget share: answers are older than promised"
                    );
                } else {
                    tracing::info!(
                        rows,
                        table_bytes,
                        portal_requests = requests,
                        duration_ms = duration.as_millis() as u64,
                        "sweep finished"
                    );
                }
                Ok(())
            }
            Err(SweepFailed { error, requests }) => {
                {
                    let mut stats = lock(&self.stats);
                    stats.failures += 1;
                    stats.last_requests = requests;
                    stats.behind = true;
                }
                tracing::warn!(
                    code = error.code(),
                    portal_requests = requests,
                    "sweep failed; the last table stays in service"
                );
                Err(error)
            }
        }
    }

    /// Sweeps every interval, for as long as the future is polled (the local server runs it
    /// as a task; a Durable Object sweeps on its alarm instead), calling `after_each` after
    /// every sweep.
    pub async fn sweep_forever(&self, after_each: impl Fn()) {
        loop {
            let started = self.clock.monotonic();
            let _ = self.sweep().await;
            after_each();
            let next = started + self.interval;
            self.clock
                .sleep(next.saturating_sub(self.clock.monotonic()))
                .await;
        }
    }

    /// Sweeps every interval while this instance holds the deployment's sweeper `lease`, and
    /// takes the holder's tables from the store otherwise, looking every tenth of the interval
    /// (1 to 5 s); an instance whose holder went away takes the lease over once it lapses (an
    /// interval and the slack after its last renewal) and sweeps at once. When the lease
    /// cannot be asked, it sweeps on its own, as a lone mirror does.
    pub async fn sweep_or_follow<L: SweepLease>(&self, lease: &L, after_each: impl Fn()) {
        let hold = self.interval + slack(self.interval);
        let look_every = (self.interval / 10).clamp(Duration::from_secs(1), Duration::from_secs(5));
        loop {
            let started = self.clock.monotonic();
            let next = if lease.hold(hold).await != Ok(false) {
                let _ = self.sweep().await;
                // Renewed after a long sweep too, so that nobody takes over mid-interval.
                let _ = lease.hold(hold).await;
                after_each();
                started + self.interval
            } else {
                self.load().await;
                started + look_every
            };
            self.clock
                .sleep(next.saturating_sub(self.clock.monotonic()))
                .await;
        }
    }

    /// How long until the next sweep is due, counted from the last one's start (for alarms).
    pub fn next_sweep_in(&self) -> Duration {
        let stats = lock(&self.stats);
        let since = stats.last_finished.map(|at| {
            self.clock.unix_time().saturating_sub(at) + stats.last_duration.unwrap_or_default()
        });
        since.map_or(Duration::ZERO, |since| self.interval.saturating_sub(since))
    }
}

impl<F: StockSource, X, C: Clock, T: TableStore> StockSource for Mirror<F, X, C, T> {
    async fn records(&self, ids: &[RecordId], trace: &mut Trace) -> Vec<Looked> {
        let Some(current) = self.current() else {
            return self.fallback.records(ids, trace).await;
        };
        ids.iter()
            .map(|id| {
                let looked = self.record(&current, *id);
                trace.found(&looked);
                looked
            })
            .collect()
    }

    async fn product(&self, id: ProductId, trace: &mut Trace) -> Looked {
        let Some(current) = self.current() else {
            return self.fallback.product(id, trace).await;
        };
        let looked = self.product_of(&current, id);
        trace.found(&looked);
        looked
    }

    async fn refresh(&self, work: Refresh) {
        // Only the fallback's answers ask for refreshes: the table is replaced by sweeps.
        self.fallback.refresh(work).await;
    }

    fn report(&self, snapshot: &mut Snapshot) {
        self.fallback.report(snapshot);
        snapshot.mirror = Some(self.health_now());
    }

    /// The fallback spends the sweeps' executor: its health carries the portal's refusals.
    async fn health(&self) -> Health {
        let fallback = self.fallback.health().await;
        Health {
            source: "mirror",
            serving: match self.current() {
                Some(_) => "mirror",
                None => fallback.serving,
            },
            mirror: Some(self.health_now()),
            problem: fallback.problem,
            inventory_accounting: self
                .sweeper
                .as_ref()
                .and_then(|s| s.inventory_accounting())
                .or(fallback.inventory_accounting),
            shared_state: fallback.shared_state,
        }
    }
}
