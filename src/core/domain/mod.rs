//! Floor 1: what the gateway is about, with no HTTP and no wire format: ids, the stock record,
//! figures and product totals under the operator's publishing policy, the error kinds, the
//! reads the portal answers, callers, the webhook credential, and the state replicas share.

pub mod caller;
pub mod error;
pub mod freshness;
pub mod id;
pub mod policy;
pub mod product;
pub mod reads;
pub mod record;
pub mod sellable;
pub mod shared_state;
pub mod stores;
pub mod variations;
pub mod webhook;
