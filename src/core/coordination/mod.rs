//! Floor 5: one portal budget for many instances: a coordinator (a Durable Object on
//! Cloudflare) runs every portal exchange for the deployment, and instances send it their
//! misses.
//!
//! - [`coordinator`]: the coordinator: an on-demand source with the whole budget.
//! - [`upstream`]: the instances' upstream that asks it, with a fallback share.
//! - [`wire`]: what they say to each other.

pub mod coordinator;
pub mod upstream;
pub mod wire;
