//! `id_from_bitrix_call` (a `catalog.storeproduct.get` call) with JSON, form and query inputs:
//! it never panics, and an accepted id is a valid record id. Input: see `caller_parts`.
#![no_main]

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::api::request::id_from_bitrix_call;
use b24_stock_gateway::core::domain::id::RecordId;
use b24_stock_gateway_fuzz::caller_parts;

fuzz_target!(|data: &[u8]| {
    let Some(parts) = caller_parts(data) else {
        return;
    };
    if let Ok(id) = id_from_bitrix_call(parts.content_type, &parts.body, parts.query) {
        assert_eq!(RecordId::from_u64(u64::from(id.get())), Ok(id));
    }
});
