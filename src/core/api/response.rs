//! Building the HTTP answers: JSON bodies with the headers every answer carries.

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};

use crate::core::api::api_error::ApiError;
use crate::core::api::render::{render_bitrix_error, render_v1_error};
use crate::core::api::routes::Route;

const JSON: &str = "application/json; charset=utf-8";

pub fn json(status: StatusCode, body: Bytes, cache_control: HeaderValue) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert("cache-control", cache_control);
    response
}

/// An error in the v1 or the Bitrix envelope, with `Retry-After` where it applies.
/// `not_found_max_age` is how long shared caches may keep a 404.
pub fn error(error: ApiError, bitrix: bool, not_found_max_age: u64) -> Response<Bytes> {
    let (status, body) = if bitrix {
        (error.bitrix_status(), render_bitrix_error(error))
    } else {
        (error.status(), render_v1_error(error))
    };
    let cache_control = if error == ApiError::NotFound && not_found_max_age > 0 {
        HeaderValue::from_str(&format!("public, max-age={not_found_max_age}"))
            .unwrap_or(HeaderValue::from_static("no-store"))
    } else {
        HeaderValue::from_static("no-store")
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json(status, body, cache_control);
    if let Some(secs) = error.retry_after_secs() {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    response
}

pub fn health() -> Response<Bytes> {
    json(
        StatusCode::OK,
        Bytes::from_static(br#"{"status":"ok"}"#),
        HeaderValue::from_static("no-store"),
    )
}

/// 204 with `Allow`; the CORS part is added with the other CORS headers.
pub fn preflight(route: Route<'_>) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert("allow", HeaderValue::from_static(route.allow()));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

pub fn method_not_allowed(route: Route<'_>) -> Response<Bytes> {
    let mut response = error(ApiError::MethodNotAllowed, route.speaks_bitrix(), 0);
    response
        .headers_mut()
        .insert("allow", HeaderValue::from_static(route.allow()));
    response
}
