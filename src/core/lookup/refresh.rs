//! Stale-while-revalidate: a hit on an answer near the end of its life is served at once, and
//! the answer is read again afterwards through the same batching, at background urgency (only
//! a free budget slot, no retries), so the next caller still hits.
//!
//! Adapters run [`Gateway::refresh`] after answering: a task on the local server,
//! `ctx.wait_until` on the Worker, in line on the Lambda (which freezes between invocations).

use crate::core::gateway::Gateway;
use crate::core::portal::command::Command;
use crate::core::portal::exchange::{Executor, Urgency};
use crate::core::ports::Clock;
use crate::core::protection::shared_cache::SharedCache;
use crate::core::stock::id::{ProductId, RecordId};

/// What to read again, carried in a response's extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refresh {
    pub records: Vec<RecordId>,
    pub products: Vec<ProductId>,
}

impl Refresh {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.products.is_empty()
    }
}

impl<E: Executor, C: Clock, L, S: SharedCache> Gateway<E, C, L, S> {
    /// Reads the answers again and caches them; failures leave the cached answers as they are.
    pub async fn refresh(&self, work: Refresh) {
        if !work.records.is_empty() {
            let commands: Vec<Command> =
                work.records.iter().map(|id| Command::Record(*id)).collect();
            let _ = self.read(&commands, Urgency::Background).await;
        }
        for product in work.products {
            let _ = self.coalesced_product(product, Urgency::Background).await;
        }
    }
}
