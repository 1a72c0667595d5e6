//! A second cache level shared between instances where the platform has one (the Worker's
//! Cache API). Native adapters have none: their in-process cache is the only level.
//!
//! The store keeps opaque bytes under a key; the core owns their format (`Cached::to_bytes`),
//! so a platform only moves bytes.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::core::stock::id::{ProductId, RecordId};

/// What an entry is about. Never anything from the webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKey {
    Record(RecordId),
    Product(ProductId),
}

impl fmt::Display for CacheKey {
    /// `record/13`, `product/6973`: a path-safe name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheKey::Record(id) => write!(f, "record/{id}"),
            CacheKey::Product(id) => write!(f, "product/{id}"),
        }
    }
}

pub trait SharedCache {
    /// The entry and how long ago it was stored, if still fresh.
    fn get(&self, key: CacheKey) -> impl Future<Output = Option<(Bytes, Duration)>>;
    fn put(&self, key: CacheKey, value: Bytes, ttl: Duration) -> impl Future<Output = ()>;
}

/// No shared level.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSharedCache;

impl SharedCache for NoSharedCache {
    fn get(&self, _key: CacheKey) -> impl Future<Output = Option<(Bytes, Duration)>> {
        std::future::ready(None)
    }

    fn put(&self, _key: CacheKey, _value: Bytes, _ttl: Duration) -> impl Future<Output = ()> {
        std::future::ready(())
    }
}
