//! The source a deployment runs, as `STOCK_SOURCE` chose it at start: on demand, or a mirror.

use super::{Health, Looked, Refresh, StockSource, Trace};
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::metrics::Snapshot;

pub enum Configured<O, M> {
    OnDemand(O),
    Mirror(M),
}

impl<O: StockSource, M: StockSource> StockSource for Configured<O, M> {
    async fn records(&self, ids: &[RecordId], trace: &mut Trace) -> Vec<Looked> {
        match self {
            Configured::OnDemand(source) => source.records(ids, trace).await,
            Configured::Mirror(source) => source.records(ids, trace).await,
        }
    }

    async fn product(&self, id: ProductId, trace: &mut Trace) -> Looked {
        match self {
            Configured::OnDemand(source) => source.product(id, trace).await,
            Configured::Mirror(source) => source.product(id, trace).await,
        }
    }

    async fn refresh(&self, work: Refresh) {
        match self {
            Configured::OnDemand(source) => source.refresh(work).await,
            Configured::Mirror(source) => source.refresh(work).await,
        }
    }

    fn report(&self, snapshot: &mut Snapshot) {
        match self {
            Configured::OnDemand(source) => source.report(snapshot),
            Configured::Mirror(source) => source.report(snapshot),
        }
    }

    async fn health(&self) -> Health {
        match self {
            Configured::OnDemand(source) => source.health().await,
            Configured::Mirror(source) => source.health().await,
        }
    }
}
