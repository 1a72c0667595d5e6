//! Floor 1: what the gateway is about, with no HTTP and no wire format: ids, the stock record,
//! figures and product totals under the operator's publishing policy, the error kinds, the
//! reads the portal answers, callers, and the webhook credential.

pub mod caller;
pub mod error;
pub mod freshness;
pub mod id;
pub mod policy;
pub mod product;
pub mod reads;
pub mod record;
pub mod sellable;
pub mod stores;
pub mod variations;
pub mod webhook;
