//! The two REST methods the sandbox implements, over its fixed inventory.

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::data::{self, Record};
use super::portal::data_id;
use super::wire::{error, ok};

pub fn storeproduct_get(params: &Map<String, Value>, time: Value) -> Response {
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

pub fn storeproduct_list(params: &Map<String, Value>, time: Value) -> Response {
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
