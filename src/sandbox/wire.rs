//! The portal's answers: JSON bodies, the error envelope, the `time` object, and the headers a
//! portal sends.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::state::unix_now;

pub fn json_value(status: u16, value: &Value) -> Response {
    json_bytes(status, serde_json::to_vec(value).unwrap_or_default())
}

pub fn json_bytes(status: u16, bytes: Vec<u8>) -> Response {
    json_body(status, Body::from(bytes))
}

/// The portal's refusal of a request over its rate limit.
pub fn query_limit_exceeded() -> Response {
    error(
        503,
        json!("QUERY_LIMIT_EXCEEDED"),
        "Too many requests",
        None,
    )
}

pub fn error(status: u16, code: Value, description: &str, time: Option<Value>) -> Response {
    json_value(status, &error_body(code, description, time))
}

pub fn error_body(code: Value, description: &str, time: Option<Value>) -> Value {
    let mut body = json!({"error": code, "error_description": description});
    if let Some(time) = time {
        body["time"] = time;
    }
    body
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

/// The `time` object of an answer: wall times, and the operating-time accounting.
pub fn time_json(started: Duration, operating: f64, reset_at: i64) -> Value {
    let finish = unix_now();
    json!({
        "start": started.as_secs_f64(),
        "finish": finish.as_secs_f64(),
        "duration": (finish.saturating_sub(started)).as_secs_f64(),
        "processing": 0.001,
        "date_start": "2026-01-01T00:00:00+00:00",
        "date_finish": "2026-01-01T00:00:00+00:00",
        "operating": operating,
        "operating_reset_at": reset_at,
    })
}
