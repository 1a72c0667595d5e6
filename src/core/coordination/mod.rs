//! One portal budget for many instances: a coordinator (a Durable Object on Cloudflare) runs
//! every portal exchange for the deployment, and instances send it their misses.
//!
//! - [`coordinator`]: the coordinator itself: budget, batching, a small answer cache.
//! - [`client`]: the instances' executor that talks to it, with a fallback share.
//! - [`wire`]: what they say to each other.

pub mod client;
pub mod coordinator;
pub mod wire;
