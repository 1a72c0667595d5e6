//! The isolate's side of coordination: an [`Upstream`] that sends misses to the coordinator
//! instead of the portal. If the coordinator cannot be reached, the isolate keeps answering on
//! a small budget share of its own (`STOCK_PORTAL_FALLBACK_SHARE`) and says so in its log.
//! Where the platform can count across instances ([`FallbackAllowance`]), every portal read in
//! fallback also takes from one deployment-wide allowance, so any number of cut-off isolates
//! together spend no more than it: an absolute fallback budget, not a share per isolate.

use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;

use super::wire::{Ask, Told};
use crate::core::domain::error::ApiError;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::metrics::Snapshot;
use crate::core::ports::{
    Clock, CoordinatorLink, Executor, FallbackAllowance, OwnShareOnly, PortalAccess,
};
use crate::core::source::batcher::Demand;
use crate::core::source::upstream::{Fetched, PortalUpstream, Upstream};
use crate::core::source::Health;

/// How long `/healthz` waits for the coordinator's word.
const HEALTH_DEADLINE: Duration = Duration::from_secs(1);

/// At most one "coordinator unreachable" warning per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

pub struct CoordinatorUpstream<L, X, A = OwnShareOnly> {
    link: L,
    fallback: PortalUpstream<X>,
    allowance: A,
    /// When the last fallback warning was logged (monotonic), to keep logs readable.
    warned_at: Cell<Option<Duration>>,
}

impl<L: CoordinatorLink, X: Executor> CoordinatorUpstream<L, X> {
    /// `fallback` spends the isolate's small share of the budget.
    pub fn new(link: L, fallback: PortalUpstream<X>) -> Self {
        Self {
            link,
            fallback,
            allowance: OwnShareOnly,
            warned_at: Cell::new(None),
        }
    }
}

impl<L, X, A> CoordinatorUpstream<L, X, A> {
    /// Fallback reads also take from `allowance`, counted across instances.
    pub fn with_allowance<A2: FallbackAllowance>(
        self,
        allowance: A2,
    ) -> CoordinatorUpstream<L, X, A2> {
        CoordinatorUpstream {
            link: self.link,
            fallback: self.fallback,
            allowance,
            warned_at: self.warned_at,
        }
    }
}

impl<L: CoordinatorLink, X: Executor, A: FallbackAllowance> CoordinatorUpstream<L, X, A> {
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

impl<L: CoordinatorLink, X: Executor, A: FallbackAllowance> Upstream
    for CoordinatorUpstream<L, X, A>
{
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
            None => match self.allowance.take().await {
                // One allowance, one exchange: no second round for the products' flags.
                Ok(()) => {
                    self.fallback
                        .read_records(clock, ids, demand, deadline, false)
                        .await
                }
                Err(retry_after_secs) => {
                    vec![Err(ApiError::UpstreamBusy { retry_after_secs }); ids.len()]
                }
            },
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
            None => match self.allowance.take().await {
                Ok(()) => self.fallback.product(clock, id, demand, deadline).await,
                Err(retry_after_secs) => Err(ApiError::UpstreamBusy { retry_after_secs }),
            },
        }
    }

    /// The coordinator's own health, asked with a short deadline; `None` (on demand, the
    /// fallback's) when it cannot be reached.
    async fn health<C: Clock>(&self, clock: &C) -> Option<Health> {
        let deadline = clock.monotonic() + HEALTH_DEADLINE;
        let told = self.ask(clock, &Ask::health(), 0, deadline).await?;
        told.health.map(|health| health.to_health())
    }

    /// Only the fallback's exchanges: the coordinator reports its own, and holds the budget.
    fn report(&self, snapshot: &mut Snapshot, now: Duration) {
        self.fallback.report(snapshot, now);
        snapshot.budget_level = None;
    }

    /// The fallback's own exchanges (the coordinator tells its own through its health).
    fn access(&self) -> PortalAccess {
        self.fallback.access()
    }
}
