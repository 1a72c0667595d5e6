//! The sandbox's HTTP surface: REST methods under the webhook path, and its control API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::data::{self, Record};
use super::faults::{fault_for_id, Fault};
use super::state::{unix_now, SandboxState};
use super::ConnectionKill;

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
        return play(fault, get_id.unwrap_or(13), kill, time).await;
    }
    if method == "catalog.storeproduct.get" {
        storeproduct_get(&params, time)
    } else {
        storeproduct_list(&params, time)
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

fn data_id(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn storeproduct_get(params: &Map<String, Value>, time: Value) -> Response {
    let Some(raw) = params.get("id") else {
        return error(
            400,
            json!(100),
            "Could not find value for parameter {id}",
            Some(time),
        );
    };
    match data_id(raw).and_then(data::record) {
        Some(record) => ok(json!({"result": {"storeProduct": record.to_json()}, "time": time})),
        // Real portals vary the code and the wording of this error; so does the sandbox.
        None if data_id(raw).is_some_and(|id| id.is_multiple_of(2)) => {
            error(400, json!("-"), "Store product does not exist", Some(time))
        }
        None => error(400, json!(0), "Entity is not exists", Some(time)),
    }
}

fn storeproduct_list(params: &Map<String, Value>, time: Value) -> Response {
    let filter = params
        .get("filter")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut rows: Vec<Record> = data::all_records()
        .filter(|record| {
            filter
                .iter()
                .all(|(key, want)| matches_filter(record, key, want))
        })
        .collect();
    if let Some((field, direction)) = params
        .get("order")
        .and_then(Value::as_object)
        .and_then(|o| o.iter().next())
    {
        let descending = direction
            .as_str()
            .is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        rows.sort_by(|a, b| {
            let ordering = a
                .field(field)
                .partial_cmp(&b.field(field))
                .unwrap_or(std::cmp::Ordering::Equal);
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    let select: Vec<String> = params
        .get("select")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let start = params.get("start").and_then(data_id).unwrap_or(0) as usize;
    const PAGE: usize = 50;
    let total = rows.len();
    let page: Vec<Value> = rows
        .iter()
        .skip(start)
        .take(PAGE)
        .map(|record| {
            let mut row = record.to_json();
            if let (Value::Object(map), false) = (
                &mut row,
                select.is_empty() || select.iter().any(|s| s == "*"),
            ) {
                map.retain(|k, _| select.contains(k));
            }
            row
        })
        .collect();
    let mut answer = json!({"result": {"storeProducts": page}, "total": total, "time": time});
    if start + PAGE < total {
        answer["next"] = json!(start + PAGE);
    }
    ok(answer)
}

/// One `filter` entry: `KEY` with an optional operator prefix.
fn matches_filter(record: &Record, key: &str, want: &Value) -> bool {
    let operators = ["!@", "!=", ">=", "<=", "@", "!", ">", "<", "="];
    let (op, field) = operators
        .iter()
        .find_map(|op| key.strip_prefix(op).map(|f| (*op, f)))
        .unwrap_or(("=", key));
    let Some(have) = record.field(field) else {
        return false;
    };
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let list = || {
        want.as_array()
            .map(|a| a.iter().filter_map(number).collect::<Vec<f64>>())
            .unwrap_or_default()
    };
    let Some(value) = number(want).or(if op.contains('@') { Some(0.0) } else { None }) else {
        return false;
    };
    match op {
        "=" => have == value,
        "!" | "!=" => have != value,
        ">" => have > value,
        ">=" => have >= value,
        "<" => have < value,
        "<=" => have <= value,
        "@" => list().contains(&have),
        "!@" => !list().contains(&have),
        _ => false,
    }
}

async fn play(fault: Fault, id: u32, kill: ConnectionKill, mut time: Value) -> Response {
    if fault == Fault::OperationTimeLimit {
        // A played block is short, so tests can watch the gateway pause and resume.
        time["operating_reset_at"] = json!(unix_now().as_secs() + 2);
    }
    if let Some((status, code, description)) = fault.bitrix_error() {
        return error(status, code, description, Some(time));
    }
    let record = data::record(13).map(|r| r.to_json()).unwrap_or_default();
    let mut good = json!({"result": {"storeProduct": record}, "time": time});
    good["result"]["storeProduct"]["id"] = json!(id);
    let good_bytes = serde_json::to_vec(&good).unwrap_or_default();
    match fault {
        Fault::Slow => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            ok(good)
        }
        Fault::Trickle => {
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let bytes = good_bytes.clone();
                async move {
                    if i >= bytes.len() {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Some((
                        Ok::<_, std::io::Error>(Bytes::copy_from_slice(&bytes[i..=i])),
                        i + 1,
                    ))
                }
            });
            json_body(200, Body::from_stream(stream))
        }
        Fault::HtmlError => Response::builder()
            .status(502)
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from(
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            ))
            .unwrap_or_default(),
        Fault::BrokenJson => json_body(200, Body::from("{\"result\": {\"storeProduct\": oops")),
        Fault::Truncated => {
            let half = Bytes::copy_from_slice(&good_bytes[..good_bytes.len() / 2]);
            let full_len = good_bytes.len();
            let chunks: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(half), Err(std::io::Error::other("cut"))];
            Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, full_len)
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap_or_default()
        }
        Fault::Reset => {
            kill.0.notify_one();
            std::future::pending::<Response>().await
        }
        Fault::Redirect => Response::builder()
            .status(302)
            .header(
                header::LOCATION,
                "https://moved-portal.example/rest/1/x/catalog.storeproduct.get",
            )
            .body(Body::empty())
            .unwrap_or_default(),
        Fault::Huge => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = (0..32).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
            json_body(200, Body::from_stream(futures_util::stream::iter(chunks)))
        }
        Fault::WrongShape => {
            good["result"]["storeProduct"]["amount"] = json!("plenty");
            ok(good)
        }
        Fault::WrongRecord => {
            good["result"]["storeProduct"]["id"] = json!(id + 1);
            ok(good)
        }
        _ => ok(good),
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

fn ok(value: Value) -> Response {
    json_body(
        200,
        Body::from(serde_json::to_vec(&value).unwrap_or_default()),
    )
}

fn error(status: u16, code: Value, description: &str, time: Option<Value>) -> Response {
    let mut body = json!({"error": code, "error_description": description});
    if let Some(time) = time {
        body["time"] = time;
    }
    json_body(
        status,
        Body::from(serde_json::to_vec(&body).unwrap_or_default()),
    )
}

fn json_body(status: u16, body: Body) -> Response {
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
