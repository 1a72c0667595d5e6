//! The sandbox's HTTP surface: REST methods under the webhook path, and its control API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::faults::{fault_for_id, Fault};
use super::state::{unix_now, SandboxState};
use super::wire::error;
use super::{methods, play, ConnectionKill};

type Shared = Arc<SandboxState>;

pub fn router(state: Shared) -> Router {
    Router::new()
        .route(
            "/_sandbox/health",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/control", post(control))
        .route("/_sandbox/reset", post(reset))
        .route("/rest/{user}/{code}/{method}", get(call).post(call))
        .with_state(state)
}

async fn stats(State(state): State<Shared>) -> Json<Value> {
    Json(serde_json::to_value(&state.lock().stats).unwrap_or_default())
}

/// `{"fault": "busy"}` switches a fault on for every `get`, `{"fault": null}` off; the
/// operating-time figures change the accounting.
async fn control(State(state): State<Shared>, Json(control): Json<Map<String, Value>>) -> Response {
    let fault = match control.get("fault") {
        None => None,
        Some(value) => match Option::<Fault>::deserialize(value) {
            Ok(fault) => Some(fault),
            Err(_) => return (StatusCode::BAD_REQUEST, "unknown fault").into_response(),
        },
    };
    let mut inner = state.lock();
    if let Some(fault) = fault {
        inner.fault = fault;
    }
    if let Some(cost) = control.get("operatingCostSecs").and_then(Value::as_f64) {
        inner.operating_cost_secs = cost;
    }
    if let Some(limit) = control.get("operatingLimitSecs").and_then(Value::as_f64) {
        inner.operating_limit_secs = limit;
    }
    Json(json!({"fault": inner.fault, "operatingUsed": inner.operating_used})).into_response()
}

async fn reset(State(state): State<Shared>) -> StatusCode {
    state.lock().reset();
    StatusCode::NO_CONTENT
}

async fn call(
    State(state): State<Shared>,
    Path((user, code, method)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    Extension(kill): Extension<ConnectionKill>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = unix_now();
    if user != state.config.user || code != state.config.code {
        state.lock().stats.rejected_credentials += 1;
        return error(
            401,
            json!("INVALID_CREDENTIALS"),
            "Invalid request credentials",
            None,
        );
    }
    let params = params(&headers, &body, query);
    let method = method.strip_suffix(".json").unwrap_or(&method).to_string();
    let known = matches!(
        method.as_str(),
        "catalog.storeproduct.get" | "catalog.storeproduct.list"
    );
    if !known {
        return error(
            404,
            json!("ERROR_METHOD_NOT_FOUND"),
            "Method not found!",
            None,
        );
    }
    let get_id = (method == "catalog.storeproduct.get")
        .then(|| params.get("id").and_then(data_id))
        .flatten();
    let fault = get_id.and_then(fault_for_id).or_else(|| {
        let global = state.lock().fault;
        global.filter(|_| method == "catalog.storeproduct.get")
    });
    let operating = {
        let mut inner = state.lock();
        if fault != Some(Fault::Busy) && !inner.bucket.admit() {
            inner.stats.query_limit_exceeded += 1;
            None
        } else {
            *inner.stats.calls.entry(method.clone()).or_default() += 1;
            inner.stats.last_body = Some(String::from_utf8_lossy(&body).into_owned());
            if let Some(id) = get_id {
                *inner.stats.get_calls_by_id.entry(id).or_default() += 1;
            }
            Some(inner.charge_operating())
        }
    };
    let Some(operating) = operating else {
        return error(
            503,
            json!("QUERY_LIMIT_EXCEEDED"),
            "Too many requests",
            None,
        );
    };
    let time = time_json(started, operating.used, operating.reset_at);
    if operating.blocked {
        state.lock().stats.operation_time_limit += 1;
        return error(
            429,
            json!("OPERATION_TIME_LIMIT"),
            "Method is blocked due to operation time limit.",
            Some(time),
        );
    }
    if let Some(fault) = fault {
        return play::play(fault, get_id.unwrap_or(13), kill, time).await;
    }
    if method == "catalog.storeproduct.get" {
        methods::storeproduct_get(&params, time)
    } else {
        methods::storeproduct_list(&params, time)
    }
}

/// Parameters from a JSON body, a form body, or the query string, like the portal.
fn params(headers: &HeaderMap, body: &Bytes, query: HashMap<String, String>) -> Map<String, Value> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut params: Map<String, Value> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if content_type.starts_with("application/json") {
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
            params.extend(obj);
        }
    } else if !body.is_empty() {
        params.extend(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))),
        );
    }
    params
}

pub fn data_id(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn time_json(started: Duration, operating: f64, reset_at: i64) -> Value {
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
