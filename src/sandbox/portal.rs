//! The sandbox's HTTP surface: REST methods (and `batch`) under the webhook path, and its
//! control API.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::command::{Call, Method};
use super::data::Record;
use super::faults::Fault;
use super::methods::Outcome;
use super::state::{unix_now, SandboxState};
use super::wire::{error, error_body, json_value, query_limit_exceeded};
use super::{batch, php_query, play, ConnectionKill};

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
    if let Some(on) = control.get("batchReferences").and_then(Value::as_bool) {
        inner.batch_references = on;
    }
    if let Some(ms) = control.get("answerDelayMs").and_then(Value::as_u64) {
        inner.answer_delay = std::time::Duration::from_millis(ms.min(10_000));
    }
    // `{"records": {"set": [{record}], "delete": [id]}}`: stock that changes under a gateway.
    if let Some(records) = control.get("records") {
        match records_change(records) {
            Some((set, delete)) => {
                for record in set {
                    inner.inventory.set(record);
                }
                for id in delete {
                    inner.inventory.delete(id);
                }
            }
            None => return (StatusCode::BAD_REQUEST, "records: set and delete").into_response(),
        }
    }
    // `{"products": {"7101": {"canBuyZero": "N", "active": "Y"}}}`: flags that change; the
    // fields not given keep the product's.
    if let Some(products) = control.get("products") {
        let Some(products) = products.as_object() else {
            return (StatusCode::BAD_REQUEST, "products: an object by id").into_response();
        };
        for (id, change) in products {
            let (Some(id), Some(change)) = (id.parse::<u32>().ok(), change.as_object()) else {
                return (StatusCode::BAD_REQUEST, "products: an object by id").into_response();
            };
            let mut flags = inner.inventory.flags(id);
            for (name, value) in change {
                let letter = || value.as_str().map(str::to_string);
                match (name.as_str(), value) {
                    ("active", _) if letter().is_some() => {
                        flags.active = letter().unwrap_or_default()
                    }
                    ("canBuyZero", _) if letter().is_some() => {
                        flags.can_buy_zero = letter().unwrap_or_default()
                    }
                    ("quantityTrace", _) if letter().is_some() => {
                        flags.quantity_trace = letter().unwrap_or_default()
                    }
                    ("available", Value::Null) => flags.available = None,
                    ("available", _) if letter().is_some() => flags.available = letter(),
                    ("type", _) if value.as_u64().is_some_and(|t| t <= 255) => {
                        flags.kind = value.as_u64().unwrap_or(1) as u8
                    }
                    _ => {
                        return (StatusCode::BAD_REQUEST, "products: unknown flag").into_response()
                    }
                }
            }
            inner.inventory.set_flags(id, flags);
        }
    }
    // `{"adminWebhook": true}`: the webhook may list catalogs and variations.
    if let Some(admin) = control.get("adminWebhook") {
        let Some(admin) = admin.as_bool() else {
            return (StatusCode::BAD_REQUEST, "adminWebhook: true or false").into_response();
        };
        inner.inventory.admin = admin;
    }
    // `{"inventoryAccounting": false}`: a portal that keeps no inventory accounting.
    if let Some(on) = control.get("inventoryAccounting") {
        let Some(on) = on.as_bool() else {
            return (
                StatusCode::BAD_REQUEST,
                "inventoryAccounting: true or false",
            )
                .into_response();
        };
        inner.inventory.accounting = on;
    }
    // `{"operatingUsedSecs": {"catalog.storeproduct.list": 480}}`: spend one method's time.
    if let Some(used) = control.get("operatingUsedSecs").and_then(Value::as_object) {
        for (name, secs) in used {
            let (Some(method), Some(secs)) = (Method::from_name(name), secs.as_f64()) else {
                return (StatusCode::BAD_REQUEST, "unknown method or amount").into_response();
            };
            inner.operating_used.insert(method.name(), secs);
        }
    }
    Json(json!({
        "fault": inner.fault,
        "operatingUsed": inner.operating_used,
        "records": inner.inventory.len(),
    }))
    .into_response()
}

/// `{"set": [{"id","productId","storeId","amount","quantityReserved"}], "delete": [ids]}`:
/// whole records only, positive ids.
fn records_change(value: &Value) -> Option<(Vec<Record>, Vec<u32>)> {
    let id = |v: &Value| {
        v.as_u64()
            .filter(|n| (1..=u64::from(i32::MAX as u32)).contains(n))
    };
    let set = match value.get("set") {
        None => Vec::new(),
        Some(list) => list
            .as_array()?
            .iter()
            .map(|r| {
                Some(Record {
                    id: id(r.get("id")?)? as u32,
                    product_id: id(r.get("productId")?)? as u32,
                    store_id: id(r.get("storeId")?)? as i64,
                    amount: r.get("amount")?.as_f64()?,
                    quantity_reserved: match r.get("quantityReserved") {
                        None | Some(Value::Null) => None,
                        Some(v) => Some(v.as_f64()?),
                    },
                    quoted: false,
                })
            })
            .collect::<Option<_>>()?,
    };
    let delete = match value.get("delete") {
        None => Vec::new(),
        Some(list) => list
            .as_array()?
            .iter()
            .map(|v| id(v).map(|n| n as u32))
            .collect::<Option<_>>()?,
    };
    Some((set, delete))
}

async fn reset(State(state): State<Shared>) -> StatusCode {
    state.lock().reset(state.config.catalogue);
    StatusCode::NO_CONTENT
}

async fn call(
    State(state): State<Shared>,
    Path((user, code, method)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
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
    let delay = state.lock().answer_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let name = method.strip_suffix(".json").unwrap_or(&method);
    if name == "batch" {
        let json = is_json(&headers);
        return batch::run(&state, query.as_deref(), &body, json, kill, started).await;
    }
    let Some(method) = Method::from_name(name) else {
        return error(
            404,
            json!("ERROR_METHOD_NOT_FOUND"),
            "Method not found!",
            None,
        );
    };
    let call = Call::new(
        &state,
        method,
        params(&headers, &body, query.as_deref().unwrap_or("")),
    );
    {
        let mut inner = state.lock();
        // The busy fault plays the bucket's refusal, so it does not ask the bucket.
        if call.fault != Some(Fault::Busy) && !inner.admit_request() {
            return query_limit_exceeded();
        }
        *inner.stats.calls.entry(method.name().into()).or_default() += 1;
        inner.stats.last_body = Some(String::from_utf8_lossy(&body).into_owned());
    }
    let ran = call.run(&state, started);
    let (status, answer) = direct_answer(ran.outcome, ran.time);
    match ran.exchange {
        Some(fault) => {
            play::exchange(fault, serde_json::to_vec(&answer).unwrap_or_default(), kill).await
        }
        None => json_value(status, &answer),
    }
}

/// A direct call's whole answer: the result with `total`/`next` beside it, or the envelope.
fn direct_answer(outcome: Outcome, mut time: Value) -> (u16, Value) {
    match outcome {
        Outcome::Done(done) => {
            let mut answer = json!({"result": done.result});
            if let Some(total) = done.total {
                answer["total"] = json!(total);
            }
            if let Some(next) = done.next {
                answer["next"] = json!(next);
            }
            answer["time"] = time;
            (200, answer)
        }
        Outcome::Failed(failure) => {
            if let Some(reset) = failure.reset_at {
                time["operating_reset_at"] = reset;
            }
            (
                failure.status,
                error_body(failure.code, failure.description, Some(time)),
            )
        }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
}

/// Parameters from the query string, then a JSON or PHP-style form body, like the portal.
fn params(headers: &HeaderMap, body: &Bytes, query: &str) -> Map<String, Value> {
    let mut params = php_query::parse_params(query.as_bytes());
    if is_json(headers) {
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
            params.extend(obj);
        }
    } else if !body.is_empty() {
        params.extend(php_query::parse_params(body));
    }
    params
}
