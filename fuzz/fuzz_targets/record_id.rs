//! `RecordId::parse` and `ProductId::parse` on any text: an accepted id prints back as exactly
//! the text it came from, and both parsers agree.
#![no_main]

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::domain::id::{ProductId, RecordId, MAX_RECORD_ID};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let record = RecordId::parse(&text);
    if let Ok(id) = record {
        assert_eq!(
            id.to_string(),
            text,
            "only the canonical decimal is accepted"
        );
        assert!((1..=MAX_RECORD_ID).contains(&id.get()));
    }
    let product = ProductId::parse(&text);
    assert_eq!(product.map(|p| p.get()), record.map(|r| r.get()));
});
