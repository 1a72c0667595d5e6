//! A second cache level shared between instances where the platform has one (the Worker's
//! Cache API). Native adapters have none: their in-process cache is the only level.

use std::future::Future;
use std::time::Duration;

use crate::core::protection::cache::Cached;
use crate::core::stock::id::RecordId;

/// Stores settled answers by id. Keys must never contain the webhook; values are the
/// already-rendered bytes, so nothing is re-serialized on a hit.
pub trait SharedCache {
    /// The answer and how long ago it was stored, if still fresh.
    fn get(&self, id: RecordId) -> impl Future<Output = Option<(Cached, Duration)>>;
    fn put(&self, id: RecordId, value: &Cached, ttl: Duration) -> impl Future<Output = ()>;
}

/// No shared level.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSharedCache;

impl SharedCache for NoSharedCache {
    fn get(&self, _id: RecordId) -> impl Future<Output = Option<(Cached, Duration)>> {
        std::future::ready(None)
    }

    fn put(&self, _id: RecordId, _value: &Cached, _ttl: Duration) -> impl Future<Output = ()> {
        std::future::ready(())
    }
}
