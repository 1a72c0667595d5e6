//! Looking answers up: the instance's cache, then the shared cache, then the portal through the
//! batcher (coalesced, batched, within budget), with stale answers standing in when the portal
//! fails, and refreshes in the background for answers near their end.

pub mod cached;
pub mod products;
pub mod records;
pub mod refresh;

use std::sync::Arc;
use std::time::Duration;

use crate::core::api::api_error::ApiError;
use crate::core::portal::page::Page;
use crate::core::protection::cache::CacheStatus;
use cached::Cached;

/// A command's settled outcome, as its flight holds it: records are already rendered and
/// cached; pages wait for the rest of their product.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    Record(Cached),
    /// A page, and how old the answer is.
    Page(Arc<Page>, Duration),
}

pub type Fetched = Result<Settled, ApiError>;

/// An answer found for a caller, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub value: Cached,
    pub status: CacheStatus,
    /// How old a cached answer is; `None` for one fetched just now.
    pub age: Option<Duration>,
}

pub type Looked = Result<Found, ApiError>;
