//! `parse_batch` (a caller's Bitrix `batch`) with JSON, form and query inputs: an accepted batch
//! holds 1 to 50 commands under keys of at most 64 characters. Input: see `caller_parts`.
#![no_main]

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::api::bitrix_batch::parse_batch;
use b24_stock_gateway::core::portal::command::MAX_BATCH_COMMANDS;
use b24_stock_gateway_fuzz::caller_parts;

fuzz_target!(|data: &[u8]| {
    let Some(parts) = caller_parts(data) else {
        return;
    };
    if let Ok(batch) = parse_batch(parts.content_type, &parts.body, parts.query) {
        assert!((1..=MAX_BATCH_COMMANDS).contains(&batch.commands.len()));
        for (key, _) in &batch.commands {
            assert!(key.chars().count() <= 64);
        }
    }
});
