//! The coordinator: one per portal (a Durable Object on Cloudflare), the only caller of the
//! portal for the whole deployment. It is an on-demand stock source like any gateway's, with
//! the deployment's full budget share and a small cache of its own (isolates keep larger ones
//! in front), so one isolate's miss is often another's hit; this module only reads isolates'
//! asks and writes the source's answers back.

use std::time::Duration;

use bytes::Bytes;

use super::wire::{Ask, Asked, Told, WireAnswer};
use crate::core::config::Settings;
use crate::core::domain::reads::Urgency;
use crate::core::metrics::Snapshot;
use crate::core::portal::exchange::PortalExecutor;
use crate::core::ports::{CacheKey, Clock, PortalTransport};
use crate::core::source::flights::Waiting;
use crate::core::source::on_demand::{OnDemand, PortalSource};
use crate::core::source::upstream::{Aged, Fetched, PortalUpstream};
use crate::core::source::{Looked, StockSource, Trace};

/// Answers kept by the coordinator: isolates keep their own, larger caches in front.
const MAX_ANSWERS: usize = 4096;
/// How often requests to the coordinator waiting on a shared read look for its result: each
/// request to the object must resume in its own context.
const POLL: Duration = Duration::from_millis(10);

pub struct Coordinator<T, C> {
    source: PortalSource<T, C>,
}

impl<T: PortalTransport, C: Clock> Coordinator<T, C> {
    pub fn new(settings: &Settings, transport: T, clock: C) -> Self {
        let own = Settings {
            cache_max_entries: MAX_ANSWERS.min(settings.cache_max_entries),
            // Never a stale stand-in: an isolate would keep it as new. Isolates keep their own
            // last good answers.
            stale_if_error: Duration::ZERO,
            ..settings.clone()
        };
        let waiting = Waiting::Polling(POLL);
        let executor = PortalExecutor::from_settings(&own, transport, own.budget);
        let upstream = PortalUpstream::new(&own, executor, waiting);
        Self {
            source: OnDemand::new(&own, upstream, clock, waiting),
        }
    }

    /// One isolate's ask: JSON ids in, JSON answers out. `None` for a request that is not one
    /// (the object answers 400).
    pub async fn answer(&self, request: &[u8]) -> Option<Bytes> {
        let ask: Ask = serde_json::from_slice(request).ok()?;
        let asked = ask.asked()?;
        let answers: Vec<WireAnswer> = match ask.urgency() {
            // A refresh wants the portal's answer, not this cache's.
            Urgency::Background => {
                let keys: Vec<CacheKey> = match &asked {
                    Asked::Records(ids) => ids.iter().map(|id| CacheKey::Record(*id)).collect(),
                    Asked::Products(ids) => ids.iter().map(|id| CacheKey::Product(*id)).collect(),
                };
                let fetched = self.source.reread(&keys).await;
                fetched.iter().map(WireAnswer::from_fetched).collect()
            }
            Urgency::Caller => {
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
        serde_json::to_vec(&Told { answers }).ok().map(Bytes::from)
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
    })
}
