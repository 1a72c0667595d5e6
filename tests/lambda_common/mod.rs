//! Shared by the Lambda tests: events built from the fixtures in `tests/fixtures/lambda/`.
#![allow(dead_code)]

use serde_json::{json, Map, Value};

pub const RECORD_13: &str = r#"{"id":13,"productId":6973,"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true,"availability":"in_stock","sellable":true}"#;
/// The `result` of the Bitrix envelope for record 13 (the envelope also carries `time`).
pub const BITRIX_13: &str = r#"{"storeProduct":{"id":13,"productId":6973,"storeId":11,"amount":14,"quantityReserved":null}}"#;

/// [`BITRIX_13`], parsed.
pub fn bitrix_13() -> serde_json::Value {
    serde_json::from_str(BITRIX_13).expect("JSON")
}

/// The `result` of a Bitrix envelope, once its `time` object is checked.
pub fn bitrix_result(body: &str) -> serde_json::Value {
    let envelope: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    assert!(
        envelope["time"]["start"].is_number(),
        "no time object: {body}"
    );
    envelope["result"].clone()
}
pub const JSON: &str = "application/json; charset=utf-8";

/// The four event shapes a Lambda behind AWS's HTTP front doors receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// API Gateway REST API (payload 1.0), stage `prod`.
    RestV1,
    /// API Gateway HTTP API (payload 2.0), `$default` stage.
    HttpV2,
    /// Application Load Balancer target group.
    Alb,
    /// Lambda Function URL (payload 2.0 shape).
    FunctionUrl,
}

pub const ALL: [Kind; 4] = [Kind::RestV1, Kind::HttpV2, Kind::Alb, Kind::FunctionUrl];

impl Kind {
    pub fn fixture(self) -> &'static str {
        match self {
            Kind::RestV1 => include_str!("../fixtures/lambda/apigw_v1_rest.json"),
            Kind::HttpV2 => include_str!("../fixtures/lambda/apigw_v2_http.json"),
            Kind::Alb => include_str!("../fixtures/lambda/alb.json"),
            Kind::FunctionUrl => include_str!("../fixtures/lambda/function_url.json"),
        }
    }
}

/// A request to put into an event.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub headers: &'a [(&'a str, &'a str)],
    /// Sent base64-encoded with `isBase64Encoded: true`, as API Gateway does for binary bodies.
    pub body: Option<&'a [u8]>,
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str) -> Self {
        Call {
            method: "GET",
            path,
            query: &[],
            headers: &[],
            body: None,
        }
    }
}

/// The fixture of `kind` with `call` put in, as JSON text.
pub fn event(kind: Kind, call: &Call) -> String {
    let mut event: Value = serde_json::from_str(kind.fixture()).expect("fixture JSON");
    let obj = event.as_object_mut().expect("fixture object");
    let mut headers: Map<String, Value> = obj["headers"].as_object().cloned().unwrap_or_default();
    for (name, value) in call.headers {
        headers.insert(name.to_string(), json!(value));
    }
    let (body, encoded) = match call.body {
        Some(bytes) => (json!(base64(bytes)), true),
        None => (Value::Null, false),
    };
    obj.insert("isBase64Encoded".into(), json!(encoded));
    obj.insert("body".into(), body);
    match kind {
        Kind::RestV1 | Kind::Alb => {
            obj.insert("path".into(), json!(call.path));
            obj.insert("httpMethod".into(), json!(call.method));
            let single: Map<String, Value> = call
                .query
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            let mut multi: Map<String, Value> = Map::new();
            for (k, v) in call.query {
                multi
                    .entry(k.to_string())
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                    .expect("array")
                    .push(json!(v));
            }
            obj.insert("queryStringParameters".into(), Value::Object(single));
            if kind == Kind::RestV1 {
                obj.insert(
                    "multiValueQueryStringParameters".into(),
                    Value::Object(multi),
                );
                obj["requestContext"]["httpMethod"] = json!(call.method);
                let multi_headers: Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| (k.clone(), json!([v])))
                    .collect();
                obj.insert("multiValueHeaders".into(), Value::Object(multi_headers));
            }
        }
        Kind::HttpV2 | Kind::FunctionUrl => {
            obj.insert("rawPath".into(), json!(call.path));
            let query: Vec<String> = call.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            obj.insert("rawQueryString".into(), json!(query.join("&")));
            obj["requestContext"]["http"]["method"] = json!(call.method);
            obj["requestContext"]["http"]["path"] = json!(call.path);
        }
    }
    obj.insert("headers".into(), Value::Object(headers));
    event.to_string()
}

/// Sets a field deep in an event, e.g. `["requestContext", "stage"]`.
pub fn with_field(event: &str, path: &[&str], value: Value) -> String {
    let mut event: Value = serde_json::from_str(event).expect("event JSON");
    let mut at = &mut event;
    for key in &path[..path.len() - 1] {
        at = &mut at[*key];
    }
    at[path[path.len() - 1]] = value;
    event.to_string()
}

/// Standard base64 with padding (what API Gateway sends).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The gateway settings the contract suite uses (`tests/contract.env`).
pub fn contract_env() -> Vec<(String, String)> {
    include_str!("../contract.env")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn base64_matches_known_values() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(br#"{"id":13}"#), "eyJpZCI6MTN9");
}
