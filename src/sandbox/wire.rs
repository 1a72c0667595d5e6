//! The portal's answers: JSON bodies, the error envelope, and the headers a portal sends.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub fn ok(value: Value) -> Response {
    json_body(
        200,
        Body::from(serde_json::to_vec(&value).unwrap_or_default()),
    )
}

pub fn error(status: u16, code: Value, description: &str, time: Option<Value>) -> Response {
    let mut body = json!({"error": code, "error_description": description});
    if let Some(time) = time {
        body["time"] = time;
    }
    json_body(
        status,
        Body::from(serde_json::to_vec(&body).unwrap_or_default()),
    )
}

pub fn json_body(status: u16, body: Body) -> Response {
    let mut response =
        (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    // A real portal sets cookies; the gateway must never pass them on.
    response.headers_mut().insert(
        header::SET_COOKIE,
        header::HeaderValue::from_static("PHPSESSID=sandbox; path=/; HttpOnly"),
    );
    response
}
