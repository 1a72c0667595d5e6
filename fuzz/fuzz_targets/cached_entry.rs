//! `Cached::from_bytes` on any shared-cache entry: whatever it accepts writes back to exactly
//! the same bytes.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::publish::cached::Cached;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Some(cached) = Cached::from_bytes(&bytes) {
        assert_eq!(cached.to_bytes(), bytes);
    }
});
