//! The public API: routes, reading callers' requests, rendering answers (v1 and the portal's
//! own shapes) and errors, CORS, and the embedded storefront files (OpenAPI document, badge
//! script, demo page).

pub mod api_error;
pub mod bitrix;
pub mod bitrix_batch;
pub mod bitrix_time;
pub mod cors;
pub mod render;
pub mod request;
pub mod response;
pub mod routes;
pub mod static_asset;
pub mod storefront;
