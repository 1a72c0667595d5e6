//! A Lambda event as the function receives it: `lambda_http::request::from_str`, then our
//! `to_core`, then the core's own readers of the request it made (route, query, body).
//!
//! lambda_http 1.3.2 itself panics while turning some events into a request (it unwraps the
//! URL it builds from the `Host` header, `X-Forwarded-Proto` and the path, and expects the
//! result to be a valid URI). In the function, lambda_runtime's panic layer catches that and
//! the invocation fails before any of our code runs. This target does the same for that one
//! call, so fuzzing goes on past it; a panic anywhere else, ours included, still aborts.
#![no_main]

use std::cell::Cell;
use std::panic;
use std::sync::Once;

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::api::bitrix_batch::parse_batch;
use b24_stock_gateway::core::api::request::{id_from_bitrix_call, ids_from_query};
use b24_stock_gateway::core::api::routes::Route;
use b24_stock_gateway::lambda::event::to_core;

thread_local! {
    /// Set while lambda_http converts the event: a panic then is the runtime's to catch.
    static IN_LAMBDA_HTTP: Cell<bool> = const { Cell::new(false) };
}
static QUIET_HOOK: Once = Once::new();

/// The event as lambda_http decodes it; `None` when it panicked doing so.
fn decode(text: &str) -> Option<Result<lambda_http::Request, serde_json::Error>> {
    QUIET_HOOK.call_once(|| {
        // libfuzzer-sys's hook prints and aborts: keep it for every other panic.
        let abort = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_LAMBDA_HTTP.with(Cell::get) {
                abort(info);
            }
        }));
    });
    IN_LAMBDA_HTTP.with(|flag| flag.set(true));
    let decoded = panic::catch_unwind(|| lambda_http::request::from_str(text));
    IN_LAMBDA_HTTP.with(|flag| flag.set(false));
    decoded.ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(Ok(event)) = decode(text) else {
        return;
    };
    let request = to_core(event);
    let _ = Route::recognise(request.uri().path());
    let query = request.uri().query();
    let content_type = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let _ = ids_from_query(query);
    let _ = id_from_bitrix_call(content_type, request.body(), query);
    let _ = parse_batch(content_type, request.body(), query);
});
