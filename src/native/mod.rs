//! Pieces shared by the native adapters (local server, Lambda): reqwest, std time, logging.

pub mod clock;
pub mod entropy;
pub mod environment;
pub mod logging;
pub mod memory;
pub mod portal_http;
pub mod shared;
