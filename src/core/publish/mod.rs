//! Floor 2: what callers are served, made once: the published JSON of a record or product
//! ([`render`]) and the cached answer with its byte form for shared caches ([`cached`]).

pub mod cached;
pub mod render;
