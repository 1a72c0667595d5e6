//! The public API: routes, reading callers' requests, rendering answers and errors, CORS.

pub mod api_error;
pub mod cors;
pub mod render;
pub mod request;
pub mod response;
pub mod routes;
