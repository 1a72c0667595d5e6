//! Live replies checked against the OpenAPI document the gateway serves (`openapi.json`): the
//! status is documented for the path and method, the body fits the documented schema, and each
//! of our headers is documented for that answer (and every required one is there).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../openapi.json")).expect("openapi.json is JSON")
});

/// Headers the gateway itself sets: each must be documented where it is sent.
const OUR_HEADERS: [&str; 12] = [
    "x-request-id",
    "cache-tag",
    "surrogate-key",
    "x-cache",
    "age",
    "retry-after",
    "etag",
    "allow",
    "content-security-policy",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-expose-headers",
];

/// A JSON pointer (`/a/b~1c`) to one part of the document.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn at(pointer: &str) -> &'static Value {
    DOCUMENT
        .pointer(pointer)
        .unwrap_or_else(|| panic!("openapi.json has nothing at {pointer}"))
}

/// Follows `$ref`s (local ones: `#/…`) to the pointer of what they name.
fn follow(mut pointer: String) -> String {
    while let Some(target) = at(&pointer).get("$ref").and_then(Value::as_str) {
        pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {target}"))
            .to_string();
    }
    pointer
}

/// The documented path template a concrete path falls under: literal segments equal, a
/// `{parameter}` takes any one segment that fits its schema when that is a string schema (the
/// router checks those, like the webhook-shaped user); ids are the route's to refuse (400).
fn template_of(path: &str) -> Option<&'static str> {
    let paths = DOCUMENT["paths"].as_object().expect("paths");
    let segments: Vec<&str> = path.split('/').collect();
    paths.keys().map(String::as_str).find(|template| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(part, segment)| {
                match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    None => part == segment,
                    Some(name) => parameter_fits(template, name, segment),
                }
            })
    })
}

fn parameter_fits(template: &str, name: &str, segment: &str) -> bool {
    let item = follow(format!("/paths/{}", escape(template)));
    let parameters = at(&item)["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let schema = parameters
        .iter()
        .map(|p| at(&follow_value(p, &item)))
        .find(|p| p["name"] == name && p["in"] == "path")
        .map(|p| p["schema"].clone())
        .unwrap_or_else(|| panic!("{template}: no path parameter {name}"));
    if schema["type"] != "string" {
        return true;
    }
    jsonschema::validator_for(&schema)
        .expect("parameter schema")
        .is_valid(&json!(segment))
}

/// A parameter entry is either inline (then `item` locates it) or a `$ref`.
fn follow_value(value: &Value, item: &str) -> String {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => follow(target.trim_start_matches('#').to_string()),
        None => {
            let index = at(item)["parameters"]
                .as_array()
                .and_then(|list| list.iter().position(|p| p == value))
                .expect("parameter in list");
            format!("{item}/parameters/{index}")
        }
    }
}

/// Validators by schema pointer: each is built once per test binary.
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Mutex::default);

/// The schema at `pointer`, with the whole document around it so its `$ref`s resolve.
fn validator(pointer: &str) -> Arc<jsonschema::Validator> {
    let mut cache = VALIDATORS.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pointer.to_string())
        .or_insert_with(|| {
            let mut root = DOCUMENT.clone();
            // A pointer in a URI fragment: `{`, `}` of path templates percent-encoded.
            let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
            root["$ref"] = json!(format!("#{fragment}"));
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&root)
                .unwrap_or_else(|e| panic!("schema at {pointer}: {e}"));
            Arc::new(validator)
        })
        .clone()
}

/// Checks one reply; panics with what does not fit.
pub fn check(method: &Method, path_and_query: &str, status: u16, headers: &HeaderMap, body: &str) {
    let path = path_and_query.split('?').next().unwrap_or_default();
    let what = format!("{method} {path_and_query} -> {status}");
    let response = match template_of(path) {
        // No documented path: the router's own 404.
        None => {
            assert_eq!(status, 404, "{what}: undocumented path");
            "/components/responses/RouteNotFound".to_string()
        }
        Some(template) => {
            let item = follow(format!("/paths/{}", escape(template)));
            let name = if *method == Method::HEAD {
                "get".to_string()
            } else {
                method.as_str().to_ascii_lowercase()
            };
            if at(&item).get(&name).is_some() {
                let operation = follow(format!("{item}/{name}"));
                let status_pointer = format!("{operation}/responses/{status}");
                assert!(
                    DOCUMENT.pointer(&status_pointer).is_some(),
                    "{what}: status not documented for {template}"
                );
                follow(status_pointer)
            } else {
                assert_eq!(status, 405, "{what}: method not documented for {template}");
                follow(format!("{item}/x-method-not-allowed"))
            }
        }
    };
    check_headers(&what, &response, headers);
    if body.is_empty() {
        // HEAD, 204 and 304 carry none.
        return;
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let documented = at(&response)["content"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: a body where none is documented"));
    assert!(
        documented.contains_key(media),
        "{what}: {media} is not documented ({:?})",
        documented.keys().collect::<Vec<_>>()
    );
    if media != "application/json" {
        return;
    }
    let value: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"));
    let schema = format!("{response}/content/application~1json/schema");
    let validator = validator(&schema);
    let problems: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{what}: the body does not fit the documented schema:\n{}\n{body}",
        problems.join("\n")
    );
}

fn check_headers(what: &str, response: &str, headers: &HeaderMap) {
    let documented: HashMap<String, &Value> = at(response)["headers"]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(name, header)| (name.to_ascii_lowercase(), header))
                .collect()
        })
        .unwrap_or_default();
    for name in OUR_HEADERS {
        if headers.contains_key(name) {
            assert!(
                documented.contains_key(name),
                "{what}: header {name} is sent but not documented at {response}"
            );
        }
    }
    for (name, header) in &documented {
        let header = at(&follow_value_ref(header));
        if header["required"] == true {
            assert!(
                headers.contains_key(name.as_str()),
                "{what}: documented header {name} is missing"
            );
        }
    }
}

fn follow_value_ref(header: &Value) -> String {
    let target = header["$ref"]
        .as_str()
        .expect("headers are written as $refs to components/headers");
    follow(target.trim_start_matches('#').to_string())
}
