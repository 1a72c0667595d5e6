//! `read_batch`: a `batch` answer read for the keys the gateway sent. Always one slot per key.
//!
//! Input: a byte for the number of keys (`1 + b % 8`: `c0`, `c1`, …), a status byte
//! (`STATUSES`), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::portal::batch_answer::read_batch;
use b24_stock_gateway::core::portal::command::batch_key;
use b24_stock_gateway_fuzz::status;

fuzz_target!(|data: &[u8]| {
    let [count, selector, body @ ..] = data else {
        return;
    };
    let keys: Vec<String> = (0..usize::from(1 + count % 8)).map(batch_key).collect();
    if let Ok(answer) = read_batch(status(*selector), body, &keys) {
        assert_eq!(answer.slots.len(), keys.len());
    }
});
