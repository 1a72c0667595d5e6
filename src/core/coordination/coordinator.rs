//! The coordinator: one per portal (a Durable Object on Cloudflare), the only caller of the
//! portal for the whole deployment. It is a stock source like any gateway's, with the
//! deployment's full budget share: on demand with a small cache of its own (isolates keep
//! larger ones in front), so one isolate's miss is often another's hit; or, in mirror mode, the
//! deployment's one mirror, which sweeps (on the object's alarm) and answers isolates from its
//! table. This module only reads isolates' asks and writes the source's answers back.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::wire::{Ask, Asked, Told, WireAnswer, WireHealth};
use crate::core::config::{Settings, SourceMode};
use crate::core::domain::freshness::CacheStatus;
use crate::core::domain::reads::Urgency;
use crate::core::metrics::Snapshot;
use crate::core::portal::exchange::PortalExecutor;
use crate::core::ports::{CacheKey, Clock, PortalTransport, TableStore};
use crate::core::source::configured::Configured;
use crate::core::source::flights::Waiting;
use crate::core::source::mirror::Mirror;
use crate::core::source::on_demand::OnDemand;
use crate::core::source::upstream::{Aged, Fetched, PortalUpstream};
use crate::core::source::{Looked, StockSource, Trace};

/// Answers kept by the coordinator: isolates keep their own, larger caches in front.
const MAX_ANSWERS: usize = 4096;
/// How often requests to the coordinator waiting on a shared read look for its result: each
/// request to the object must resume in its own context.
const POLL: Duration = Duration::from_millis(10);

/// The coordinator's on-demand source (the mirror's, until its first table).
type Portal<T, C> = OnDemand<PortalUpstream<Arc<PortalExecutor<T>>>, C>;

/// The deployment's mirror, keeping its table in `S`.
pub type CoordinatorMirror<T, C, S> = Mirror<Portal<T, C>, Arc<PortalExecutor<T>>, C, S>;

/// The coordinator's source: on demand, or the deployment's mirror.
pub type CoordinatorSource<T, C, S> = Configured<Portal<T, C>, CoordinatorMirror<T, C, S>>;

pub struct Coordinator<T, C, S> {
    source: CoordinatorSource<T, C, S>,
}

impl<T: PortalTransport, C: Clock + Clone, S: TableStore> Coordinator<T, C, S> {
    pub fn new(settings: &Settings, transport: T, clock: C, store: S) -> Self {
        let own = Settings {
            cache_max_entries: MAX_ANSWERS.min(settings.cache_max_entries),
            // Never a stale stand-in: an isolate would keep it as new. Isolates keep their own
            // last good answers.
            stale_if_error: Duration::ZERO,
            ..settings.clone()
        };
        let waiting = Waiting::Polling(POLL);
        let executor = Arc::new(PortalExecutor::from_settings(&own, transport, own.budget));
        let upstream = PortalUpstream::new(&own, executor.clone(), waiting);
        let on_demand = OnDemand::new(&own, upstream, clock.clone(), waiting);
        let source = match settings.source {
            SourceMode::OnDemand => Configured::OnDemand(on_demand),
            // The mirror's own stale window is the deployment's: its table stands in, marked.
            SourceMode::Mirror => Configured::Mirror(Mirror::sweeping(
                settings, on_demand, executor, clock, store,
            )),
        };
        Self { source }
    }

    /// The deployment's mirror, in mirror mode: its sweeps and its stored table.
    pub fn mirror(&self) -> Option<&CoordinatorMirror<T, C, S>> {
        match &self.source {
            Configured::Mirror(mirror) => Some(mirror),
            Configured::OnDemand(_) => None,
        }
    }

    /// One isolate's ask: JSON ids in, JSON answers out. `None` for a request that is not one
    /// (the object answers 400).
    pub async fn answer(&self, request: &[u8]) -> Option<Bytes> {
        let ask: Ask = serde_json::from_slice(request).ok()?;
        if ask.health {
            let health = WireHealth::of(&self.source.health().await);
            let told = Told {
                answers: Vec::new(),
                health: Some(health),
            };
            return serde_json::to_vec(&told).ok().map(Bytes::from);
        }
        let asked = ask.asked()?;
        let answers: Vec<WireAnswer> = match ask.urgency() {
            // A refresh wants the portal's answer, not this cache's; a mirror's answers are its
            // table's, asked for at any urgency.
            Urgency::Background if self.mirror().is_none() => {
                let keys: Vec<CacheKey> = match &asked {
                    Asked::Records(ids) => ids.iter().map(|id| CacheKey::Record(*id)).collect(),
                    Asked::Products(ids) => ids.iter().map(|id| CacheKey::Product(*id)).collect(),
                };
                let fetched = match &self.source {
                    Configured::OnDemand(source) => source.reread(&keys).await,
                    Configured::Mirror(_) => Vec::new(),
                };
                fetched.iter().map(WireAnswer::from_fetched).collect()
            }
            Urgency::Caller | Urgency::Background => {
                // The coordinator's hits are its own business, not an isolate's.
                let mut trace = Trace {
                    caller: ask.caller(),
                    ..Trace::default()
                };
                let looked = match &asked {
                    Asked::Records(ids) => self.source.records(ids, &mut trace).await,
                    Asked::Products(ids) => {
                        let mut looked = Vec::with_capacity(ids.len());
                        for id in ids {
                            looked.push(self.source.product(*id, &mut trace).await);
                        }
                        looked
                    }
                };
                looked
                    .into_iter()
                    .map(|l| WireAnswer::from_fetched(&aged(l)))
                    .collect()
            }
        };
        let told = Told {
            answers,
            health: None,
        };
        serde_json::to_vec(&told).ok().map(Bytes::from)
    }

    /// The object's exchanges with the portal since start, and its budget level now.
    pub fn metrics(&self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        self.source.report(&mut snapshot);
        snapshot
    }
}

/// A looked-up answer as an upstream answer: its value and age (the coordinator keeps no stale
/// stand-ins, so every success is fresh).
fn aged(looked: Looked) -> Fetched {
    looked.map(|found| Aged {
        value: found.value,
        age: found.age.unwrap_or_default(),
        life: found.fresh_for,
        stale: found.status == CacheStatus::Stale,
    })
}
