//! Floor 4: stock sources, how a record or a product is found.
//!
//! A source answers records by id (one or many), a product's stock, and the background work
//! its answers owe ([`StockSource`]). Today there is one kind, [`on_demand::OnDemand`]: the
//! instance's caches, then a shared cache, then an [`upstream::Upstream`] that asks the portal
//! (batched, coalesced, within budget) or the deployment's coordinator.
//!
//! - [`cache`]: answers kept for their lifetime and a stale window past it.
//! - [`flights`]: one call under way per key; followers wait for the leader's result.
//! - [`batcher`]: misses of concurrent requests grouped into one portal `batch`.
//! - [`upstream`]: where misses go; [`upstream::PortalUpstream`] reads the portal itself.
//! - [`on_demand`]: the on-demand source over an upstream.
//! - [`mirror`]: the mirror of the whole public stock, swept on a schedule.
//! - [`configured`]: the one a deployment runs (`STOCK_SOURCE`).
//! - [`work_limit`]: how many cold commands a minute one caller may cause.

pub mod batcher;
pub mod cache;
pub mod configured;
pub mod flights;
pub mod mirror;
pub mod on_demand;
pub mod unserved;
pub mod upstream;
pub mod work_limit;

use std::future::Future;
use std::time::Duration;

use crate::core::domain::caller::CallerKey;
use crate::core::domain::error::ApiError;
use crate::core::domain::freshness::CacheStatus;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::shared_state::SharedStateHealth;
use crate::core::metrics::{MirrorHealth, Snapshot};
use crate::core::publish::cached::Cached;

/// How a record or a product is found.
pub trait StockSource {
    /// One answer per id, in order; what it cost goes into `trace`.
    fn records(&self, ids: &[RecordId], trace: &mut Trace) -> impl Future<Output = Vec<Looked>>;

    /// A product's stock across the public warehouses.
    fn product(&self, id: ProductId, trace: &mut Trace) -> impl Future<Output = Looked>;

    /// Reads again what answers near their end asked for; failures leave the cached answers
    /// as they are. Run after the caller is answered.
    fn refresh(&self, work: Refresh) -> impl Future<Output = ()>;

    /// Adds the source's counters (portal exchanges, budget level, cache entries).
    fn report(&self, snapshot: &mut Snapshot);

    /// Which source, and what it serves from now (for `/healthz`; never calls the portal).
    fn health(&self) -> impl Future<Output = Health>;
}

/// What `/healthz` says about the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// `on_demand` or `mirror` (`STOCK_SOURCE`).
    pub source: &'static str,
    /// Where answers come from now: a mirror serves on demand until its first table.
    pub serving: &'static str,
    pub mirror: Option<MirrorHealth>,
    /// A refusal of the portal only the operator can fix, while it lasts
    /// ([`crate::core::ports::PortalAccess`]).
    pub problem: Option<&'static str>,
    /// Whether the portal keeps inventory accounting (`catalog.document.mode.status`), as last
    /// read along with products' flags; `None` until then, or when it would not say.
    pub inventory_accounting: Option<bool>,
    /// The store replicas share, when one is configured.
    pub shared_state: Option<SharedStateHealth>,
}

impl Health {
    /// An on-demand source's.
    pub const ON_DEMAND: Health = Health {
        source: "on_demand",
        serving: "on_demand",
        mirror: None,
        problem: None,
        inventory_accounting: None,
        shared_state: None,
    };
}

/// An answer found for a caller, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub value: Cached,
    pub status: CacheStatus,
    /// How old a cached answer is; `None` for one fetched just now.
    pub age: Option<Duration>,
    /// How long it stays fresh from now when its source promised that (a mirror: the time to
    /// its next sweep), for `max-age`; `None`: the configured lifetime.
    pub fresh_for: Option<Duration>,
}

pub type Looked = Result<Found, ApiError>;

/// What one request's lookups cost, for its log line and headers, and the refreshes they owe.
#[derive(Debug, Default)]
pub struct Trace {
    pub cache: Option<CacheStatus>,
    pub age: Option<Duration>,
    pub upstream: Option<Duration>,
    pub refresh: Refresh,
    /// When the request arrived (Unix time), for Bitrix `time` objects.
    pub arrived: Duration,
    /// Who asks, as the per-caller limits count (`None`: the platform could not say; such
    /// requests share one allowance).
    pub caller: Option<CallerKey>,
}

impl Trace {
    /// Folds one part's cache status into the answer's: a miss anywhere makes it a miss, else
    /// a stale part makes it stale; the age is the oldest part's.
    pub fn saw(&mut self, status: CacheStatus, age: Option<Duration>) {
        self.cache = Some(match (self.cache, status) {
            (Some(CacheStatus::Miss), _) | (_, CacheStatus::Miss) => CacheStatus::Miss,
            (Some(CacheStatus::Stale), _) | (_, CacheStatus::Stale) => CacheStatus::Stale,
            _ => CacheStatus::Hit,
        });
        self.age = match (self.cache, self.age, age) {
            (Some(CacheStatus::Miss), _, _) => None,
            (_, Some(a), Some(b)) => Some(a.max(b)),
            (_, a, b) => a.or(b),
        };
    }

    /// Records one answer: what it is, and where it came from.
    pub fn found(&mut self, looked: &Looked) {
        match looked {
            Ok(found) => self.saw(found.status, found.age),
            Err(_) => self.saw(CacheStatus::Miss, None),
        }
    }
}

/// Answers to read again after the caller is answered (stale-while-revalidate): what a hit
/// near the end of its life asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "the refresh is owed: run it with StockSource::refresh after answering"]
pub struct Refresh {
    pub records: Vec<RecordId>,
    pub products: Vec<ProductId>,
}

impl Refresh {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.products.is_empty()
    }
}
