//! `ids_from_query` and `id_from_query` on any query string: a list holds 1 to 50 distinct ids,
//! and a query without `ids` reads exactly as the single-id parser reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::api::request::{id_from_query, ids_from_query, Wanted, MAX_IDS};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let wanted = ids_from_query(Some(query));
    if let Ok(Wanted::Many(ids)) = &wanted {
        assert!((1..=MAX_IDS).contains(&ids.len()));
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len(), "no id twice");
    }
    let has_list = form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "ids");
    if !has_list {
        assert_eq!(wanted, id_from_query(Some(query)).map(Wanted::One));
    }
});
