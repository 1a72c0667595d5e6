//! The platform-free core: everything but the runtime's own pieces (see `ports`).
//!
//! - [`api`]: the public routes, reading callers' requests, rendering answers and errors, CORS.
//! - [`portal`]: the Bitrix24 wire format, reading its answers, and calling it.
//! - [`protection`]: what keeps the portal safe: cache, coalescing, budget, operating time,
//!   per-caller limits.
//! - [`stock`]: ids, the operator's publishing policy, and stock figures.

pub mod api;
pub mod config;
pub mod gateway;
pub mod portal;
pub mod ports;
pub mod protection;
pub mod request_id;
pub mod secret;
pub mod stock;
