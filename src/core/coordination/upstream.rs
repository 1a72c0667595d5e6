//! The isolate's side of coordination: an [`Upstream`] that sends misses to the coordinator
//! instead of the portal. If the coordinator cannot be reached, the isolate keeps answering on
//! a small budget share of its own (`STOCK_PORTAL_FALLBACK_SHARE`) and says so in its log.

use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;

use super::wire::{Ask, Told};
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::metrics::Snapshot;
use crate::core::ports::{Clock, CoordinatorLink, Executor};
use crate::core::source::batcher::Demand;
use crate::core::source::upstream::{Fetched, PortalUpstream, Upstream};

/// At most one "coordinator unreachable" warning per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

pub struct CoordinatorUpstream<L, X> {
    link: L,
    fallback: PortalUpstream<X>,
    /// When the last fallback warning was logged (monotonic), to keep logs readable.
    warned_at: Cell<Option<Duration>>,
}

impl<L: CoordinatorLink, X: Executor> CoordinatorUpstream<L, X> {
    /// `fallback` spends the isolate's small share of the budget.
    pub fn new(link: L, fallback: PortalUpstream<X>) -> Self {
        Self {
            link,
            fallback,
            warned_at: Cell::new(None),
        }
    }

    /// The coordinator's answers to `ask`, if it gave one per id.
    async fn ask<C: Clock>(
        &self,
        clock: &C,
        ask: &Ask,
        expected: usize,
        deadline: Duration,
    ) -> Option<Told> {
        let body = serde_json::to_vec(ask).map(Bytes::from).ok()?;
        let left = deadline.saturating_sub(clock.monotonic());
        let told = self
            .link
            .ask(body, left)
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Told>(&bytes).ok())
            .filter(|told| told.answers.len() == expected);
        if told.is_none() {
            self.warn(clock);
        }
        told
    }

    fn warn<C: Clock>(&self, clock: &C) {
        let now = clock.monotonic();
        let due = self
            .warned_at
            .get()
            .is_none_or(|at| now.saturating_sub(at) >= WARN_EVERY);
        if due {
            self.warned_at.set(Some(now));
            tracing::warn!(
                "portal coordinator unreachable: this isolate answers on its fallback budget share"
            );
        }
    }
}

impl<L: CoordinatorLink, X: Executor> Upstream for CoordinatorUpstream<L, X> {
    async fn records<C: Clock>(
        &self,
        clock: &C,
        ids: &[RecordId],
        demand: Demand,
        deadline: Duration,
    ) -> Vec<Fetched> {
        let ask = Ask::records(ids, demand);
        match self.ask(clock, &ask, ids.len(), deadline).await {
            Some(told) => told.answers.iter().map(|a| a.to_fetched(false)).collect(),
            None => self.fallback.records(clock, ids, demand, deadline).await,
        }
    }

    async fn product<C: Clock>(
        &self,
        clock: &C,
        id: ProductId,
        demand: Demand,
        deadline: Duration,
    ) -> Fetched {
        let ask = Ask::product(id, demand);
        match self.ask(clock, &ask, 1, deadline).await {
            Some(told) => told.answers[0].to_fetched(true),
            None => self.fallback.product(clock, id, demand, deadline).await,
        }
    }

    /// Only the fallback's exchanges: the coordinator reports its own, and holds the budget.
    fn report(&self, snapshot: &mut Snapshot, now: Duration) {
        self.fallback.report(snapshot, now);
        snapshot.budget_level = None;
    }
}
