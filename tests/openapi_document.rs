//! The OpenAPI document itself: the committed `openapi.json` is `openapi.yaml`'s content, it
//! documents exactly the router's paths, and the checker the contract suites run on every reply
//! does refuse what the document does not say. (Its validity as OpenAPI 3.1 is checked by
//! `scripts/openapi.sh` with openapi-spec-validator; the live answers by the contract suites.)

mod support;

use std::collections::BTreeSet;

use b24_stock_gateway::core::api::routes::DOCUMENTED_PATHS;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde_json::{Map, Value};
use support::openapi::{check, DOCUMENT};
use yaml_rust2::{Yaml, YamlLoader};

/// YAML 1.2 as JSON: mapping keys become strings, anchors are already expanded by the loader.
fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(text) => Value::from(text.parse::<f64>().expect("a float")),
        Yaml::Integer(n) => Value::from(*n),
        Yaml::String(text) => Value::from(text.as_str()),
        Yaml::Boolean(b) => Value::from(*b),
        Yaml::Null => Value::Null,
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let key = match key {
                        Yaml::String(text) | Yaml::Real(text) => text.clone(),
                        Yaml::Integer(n) => n.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        other => panic!("unexpected mapping key {other:?}"),
                    };
                    (key, to_json(value))
                })
                .collect::<Map<_, _>>(),
        ),
        Yaml::Alias(_) | Yaml::BadValue => panic!("unresolved YAML node {yaml:?}"),
    }
}

#[test]
fn committed_json_is_the_yaml() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let docs = YamlLoader::load_from_str(&yaml).expect("openapi.yaml parses");
    assert_eq!(docs.len(), 1, "one YAML document");
    assert!(
        to_json(&docs[0]) == *DOCUMENT,
        "openapi.json is not openapi.yaml's content: run `bash scripts/openapi.sh build`"
    );
}

#[test]
fn the_document_has_exactly_the_routers_paths() {
    let documented: BTreeSet<&str> = DOCUMENT["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    let routed: BTreeSet<&str> = DOCUMENTED_PATHS.iter().copied().collect();
    assert_eq!(documented, routed);
}

#[test]
fn the_document_has_the_crates_version() {
    assert_eq!(DOCUMENT["info"]["version"], env!("CARGO_PKG_VERSION"));
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert("x-request-id", HeaderValue::from_static("t-1"));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    headers
}

/// A stock answer's headers: also its (required) ETag.
fn stock_headers() -> HeaderMap {
    let mut headers = json_headers();
    headers.insert("etag", HeaderValue::from_static("\"0123456789abcdef\""));
    headers
}

const RECORD: &str = r#"{"id":13,"productId":6973,"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true,"availability":"in_stock","sellable":true}"#;

#[test]
fn the_checker_takes_a_documented_answer() {
    check(
        &Method::GET,
        "/v1/store-products/13",
        200,
        &stock_headers(),
        RECORD,
    );
    check(
        &Method::GET,
        "/v1/store-products?ids=13,99",
        200,
        &stock_headers(),
        &format!(r#"{{"items":[{RECORD}],"notFound":[99],"unavailable":[]}}"#),
    );
    check(
        &Method::GET,
        "/no/such/route",
        404,
        &json_headers(),
        r#"{"error":{"code":"not_found","message":"no such route"}}"#,
    );
}

#[test]
#[should_panic(expected = "does not fit the documented schema")]
fn the_checker_refuses_an_undocumented_field() {
    let body = RECORD.replace("\"inStock\"", "\"quantity\":1,\"inStock\"");
    check(
        &Method::GET,
        "/v1/store-products/13",
        200,
        &stock_headers(),
        &body,
    );
}

#[test]
#[should_panic(expected = "status not documented")]
fn the_checker_refuses_an_undocumented_status() {
    check(
        &Method::GET,
        "/v1/store-products/13",
        418,
        &json_headers(),
        r#"{"error":{"code":"not_found","message":"x"}}"#,
    );
}

#[test]
#[should_panic(expected = "is sent but not documented")]
fn the_checker_refuses_an_undocumented_header() {
    let mut headers = stock_headers();
    headers.insert("retry-after", HeaderValue::from_static("5"));
    check(&Method::GET, "/v1/store-products/13", 200, &headers, RECORD);
}

#[test]
#[should_panic(expected = "documented header x-request-id is missing")]
fn the_checker_refuses_a_missing_required_header() {
    let mut headers = stock_headers();
    headers.remove("x-request-id");
    check(&Method::GET, "/v1/store-products/13", 200, &headers, RECORD);
}

#[test]
#[should_panic(expected = "undocumented path")]
fn the_checker_refuses_an_answer_on_an_undocumented_path() {
    check(
        &Method::GET,
        "/rest/x/y/batch",
        200,
        &json_headers(),
        r#"{"status":"ok"}"#,
    );
}
