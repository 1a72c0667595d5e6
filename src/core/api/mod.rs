//! Floor 5: the public API over a stock source: routes, reading callers' requests, the JSON
//! around published records (lists, errors, the portal's own shapes), HTTP statuses, CORS,
//! and the embedded storefront files (OpenAPI document, badge script, demo page).

pub mod bitrix;
pub mod bitrix_batch;
pub mod bitrix_time;
pub mod can_sell;
pub mod cors;
pub mod forwarded;
pub mod http_error;
pub mod nearest;
pub mod product_view;
pub mod render;
pub mod rendered_product;
pub mod request;
pub mod response;
pub mod routes;
pub mod static_asset;
pub mod storefront;
pub mod summary;
pub mod validators;
