//! `Route::recognise` on any path: a path-carried id is one whole segment taken from where the
//! route puts it, and every route answers its name and methods.
#![no_main]

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::api::routes::Route;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let Some(route) = Route::recognise(path) else {
        return;
    };
    match route {
        Route::StoreProductByPath(segment) => {
            assert!(!segment.contains('/'));
            assert_eq!(path, format!("/v1/store-products/{segment}"));
        }
        Route::ProductStock(segment) => {
            assert!(!segment.contains('/'));
            assert_eq!(path, format!("/v1/products/{segment}/stock"));
        }
        _ => {}
    }
    assert!(!route.name().is_empty());
    assert!(route.accepts(&http::Method::GET));
    assert_eq!(route.accepts(&http::Method::POST), route.speaks_bitrix());
    assert!(!route.allow().is_empty());
});
