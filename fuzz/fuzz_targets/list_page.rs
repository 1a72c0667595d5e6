//! `read_page` on a `catalog.storeproduct.list` answer (`{"result":…,"total":…,"next":…}`):
//! a page holds at most 50 rows, each a record of the asked product.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

use b24_stock_gateway::core::domain::id::ProductId;
use b24_stock_gateway::core::portal::command::LIST_PAGE_ROWS;
use b24_stock_gateway::core::portal::page::read_page;

fuzz_target!(|data: &[u8]| {
    let Ok(answer) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let result = answer.get("result").unwrap_or(&Value::Null);
    for product in [6973, 8000] {
        let product = ProductId::from_u64(product).unwrap();
        if let Some(page) = read_page(result, answer.get("total"), answer.get("next"), product) {
            assert!(page.rows.len() <= LIST_PAGE_ROWS as usize);
            assert!(page.rows.iter().all(|row| row.product_id == product));
        }
    }
});
