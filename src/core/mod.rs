//! The platform-free core: everything but the runtime's own pieces (see `ports`).
//!
//! - [`api`]: the public routes, reading callers' requests, rendering answers and errors, CORS.
//! - [`portal`]: the Bitrix24 wire format, reading its answers, and running commands against it.
//! - [`protection`]: what keeps the portal safe: caches, coalescing, batching, budget,
//!   operating time, per-caller limits.
//! - [`lookup`]: finding answers: cache, shared cache, then the portal through the batcher.
//! - [`coordination`]: one portal budget for many instances (a Durable Object coordinator).
//! - [`stock`]: ids, the operator's publishing policy, stock figures and product totals.
//! - [`metrics`]: what the gateway counts for its operator.
//! - [`gateway`] and [`answers`]: the request-to-response function that ties them together.

pub mod answers;
pub mod api;
pub mod config;
pub mod coordination;
pub mod digest;
pub mod gateway;
pub mod http_url;
pub mod join;
pub mod log_settings;
pub mod lookup;
pub mod metrics;
pub mod portal;
pub mod ports;
pub mod protection;
pub mod request_id;
pub mod secret;
pub mod stock;
#[cfg(all(test, feature = "native"))]
pub mod testing;
