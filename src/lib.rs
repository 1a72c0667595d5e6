//! b24-stock-gateway: public, cached stock levels from a Bitrix24 portal without exposing its
//! webhook. The `core` module is platform-free; adapters live behind cargo features.

pub mod core;

#[cfg(feature = "native")]
pub mod native;

#[cfg(feature = "lambda")]
pub mod lambda;

#[cfg(feature = "server")]
pub mod sandbox;
#[cfg(feature = "server")]
pub mod server;

#[cfg(all(feature = "worker", target_arch = "wasm32"))]
pub mod worker;
