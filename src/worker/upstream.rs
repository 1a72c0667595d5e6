//! Where an isolate's misses go: to the portal on the isolate's own budget share, or to the
//! portal coordinator (a Durable Object) that holds the deployment's one budget.

use std::time::Duration;

use super::coordinator_link::DurableObjectLink;
use super::ratelimit::FallbackBinding;
use super::transport::FetchPortal;
use crate::core::coordination::upstream::CoordinatorUpstream;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::metrics::Snapshot;
use crate::core::portal::exchange::PortalExecutor;
use crate::core::ports::Clock;
use crate::core::source::batcher::Demand;
use crate::core::source::upstream::{Fetched, PortalUpstream, Upstream};
use crate::core::source::Health;

type OwnPortal = PortalUpstream<PortalExecutor<FetchPortal>>;

pub enum IsolateUpstream {
    /// `STOCK_PORTAL_COORDINATOR=isolate`: this isolate calls the portal on its own share.
    Isolate(OwnPortal),
    /// `durable_object`: the coordinator calls the portal; a small share stands by.
    Coordinated(
        CoordinatorUpstream<DurableObjectLink, PortalExecutor<FetchPortal>, FallbackBinding>,
    ),
}

impl IsolateUpstream {
    pub fn describe(&self) -> &'static str {
        match self {
            IsolateUpstream::Isolate(_) => "isolate",
            IsolateUpstream::Coordinated(_) => "durable_object",
        }
    }
}

impl Upstream for IsolateUpstream {
    async fn records<C: Clock>(
        &self,
        clock: &C,
        ids: &[RecordId],
        demand: Demand,
        deadline: Duration,
    ) -> Vec<Fetched> {
        match self {
            IsolateUpstream::Isolate(own) => own.records(clock, ids, demand, deadline).await,
            IsolateUpstream::Coordinated(coordinated) => {
                coordinated.records(clock, ids, demand, deadline).await
            }
        }
    }

    async fn product<C: Clock>(
        &self,
        clock: &C,
        id: ProductId,
        demand: Demand,
        deadline: Duration,
    ) -> Fetched {
        match self {
            IsolateUpstream::Isolate(own) => own.product(clock, id, demand, deadline).await,
            IsolateUpstream::Coordinated(coordinated) => {
                coordinated.product(clock, id, demand, deadline).await
            }
        }
    }

    async fn health<C: Clock>(&self, clock: &C) -> Option<Health> {
        match self {
            IsolateUpstream::Isolate(_) => None,
            IsolateUpstream::Coordinated(coordinated) => coordinated.health(clock).await,
        }
    }

    fn report(&self, snapshot: &mut Snapshot, now: Duration) {
        match self {
            IsolateUpstream::Isolate(own) => own.report(snapshot, now),
            IsolateUpstream::Coordinated(coordinated) => coordinated.report(snapshot, now),
        }
    }
}
