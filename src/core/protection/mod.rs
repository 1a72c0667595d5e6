//! What keeps the portal safe from the public: answer caches, coalescing and batching of
//! misses, the portal's request budget and operating time, and per-caller limits.

pub mod batcher;
pub mod budget;
pub mod cache;
pub mod caller_limit;
pub mod client_ip;
pub mod flights;
pub mod operating_time;
pub mod shared_cache;
pub mod shared_cache_key;
