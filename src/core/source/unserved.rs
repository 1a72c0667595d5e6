//! A source with nothing to answer from yet: a mirror reader before the first table is
//! published (a Lambda execution environment never calls the portal in mirror mode). Every
//! read answers 503 `upstream_busy` with `Retry-After`, never touching the portal.

use std::time::Duration;

use super::{Health, Looked, Refresh, StockSource, Trace};
use crate::core::domain::error::ApiError;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::metrics::Snapshot;

pub struct Unserved {
    /// When to ask again: about when the next table is due.
    pub retry_after: Duration,
}

impl Unserved {
    fn busy(&self) -> Looked {
        Err(ApiError::UpstreamBusy {
            retry_after_secs: self.retry_after.as_secs().max(1),
        })
    }
}

impl StockSource for Unserved {
    async fn records(&self, ids: &[RecordId], trace: &mut Trace) -> Vec<Looked> {
        ids.iter()
            .map(|_| {
                let looked = self.busy();
                trace.found(&looked);
                looked
            })
            .collect()
    }

    async fn product(&self, _id: ProductId, trace: &mut Trace) -> Looked {
        let looked = self.busy();
        trace.found(&looked);
        looked
    }

    async fn refresh(&self, _work: Refresh) {}

    fn report(&self, _snapshot: &mut Snapshot) {}

    async fn health(&self) -> Health {
        Health {
            source: "mirror",
            serving: "none",
            mirror: None,
            problem: None,
            inventory_accounting: None,
            shared_state: None,
        }
    }
}
