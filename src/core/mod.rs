//! The platform-free core: everything but the runtime's own pieces, in floors. Each module
//! imports only from the floors below its own (`tests/floor_plan.rs` holds this):
//!
//! 0. [`kit`]: small helpers that know nothing of stock or portals.
//! 1. [`domain`]: ids, the stock record, figures and product totals under the publishing
//!    policy, error kinds, the reads the portal answers, callers, the webhook credential.
//! 2. [`config`] (settings from `STOCK_*` variables), [`ports`] (every trait a platform fills,
//!    with its contract), [`publish`] (the JSON callers are served, made once) and
//!    [`metrics`] (what the gateway counts).
//! 3. [`portal`]: the Bitrix24 wire format, reading its answers, the budgeted executor.
//! 4. [`source`]: stock sources: how a record or product is found (caches, coalescing,
//!    batching, the upstream).
//! 5. [`api`] (routes, parsing, rendering around published records, CORS, Bitrix
//!    compatibility) and [`coordination`] (one portal budget for many instances).
//! 6. [`gateway`]: one request in, one answer out: routes, the caller limit, answers, headers
//!    and the request log.

pub mod api;
pub mod config;
pub mod coordination;
pub mod domain;
pub mod gateway;
pub mod kit;
pub mod metrics;
pub mod portal;
pub mod ports;
pub mod publish;
pub mod source;
#[cfg(all(test, feature = "native"))]
pub mod testing;
