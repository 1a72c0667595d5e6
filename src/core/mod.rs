//! The platform-free core: everything but the runtime's own pieces (see `ports`).

pub mod api_error;
pub mod budget;
pub mod cache;
pub mod caller_limit;
pub mod client_ip;
pub mod config;
pub mod cors;
pub mod gateway;
pub mod id;
pub mod operating_time;
pub mod policy;
pub mod portal_answer;
pub mod ports;
pub mod render;
pub mod request;
pub mod request_id;
pub mod response;
pub mod routes;
pub mod secret;
pub mod shared_cache;
pub mod upstream;
