//! Floor 0: small helpers that know nothing of stock or portals.

pub mod digest;
pub mod gcra;
pub mod http_url;
pub mod join;
pub mod lock;
pub mod memo;
pub mod request_id;
