//! The Lambda adapter in process: events (API Gateway REST v1 with a stage, HTTP API v2, ALB,
//! Function URL) from `tests/fixtures/lambda/` through `lambda_http`'s own parsing and the
//! adapter, against the embedded sandbox portal on a loopback port.

mod lambda_common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use b24_stock_gateway::lambda::{self, LambdaGateway};
use b24_stock_gateway::sandbox::{self, SandboxConfig};
use lambda_common::*;
use lambda_http::Body;
use serde_json::json;

struct Setup {
    gateway: LambdaGateway,
    sandbox_code: String,
}

async fn setup(extra: &[(&str, &str)]) -> Setup {
    let code = format!("evt{:x}", std::process::id() as u64 * 7_919 + rand_suffix());
    let sandbox = sandbox::spawn(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig {
            code: code.clone(),
            drain_per_sec: 1000.0,
            burst: 100_000.0,
            ..SandboxConfig::default()
        },
    )
    .await
    .expect("sandbox");
    let mut env: HashMap<String, String> = contract_env().into_iter().collect();
    env.insert("B24_WEBHOOK_URL".into(), sandbox.webhook_url());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let gateway = lambda::gateway_from_lookup(|name| env.get(name).cloned()).expect("gateway");
    Setup {
        gateway,
        sandbox_code: code,
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        & 0xffff_ffff
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn invoke(gateway: &LambdaGateway, event: &str) -> Answer {
    let request = lambda_http::request::from_str(event).expect("lambda_http parses the event");
    let response = tokio::time::timeout(Duration::from_secs(10), lambda::handle(gateway, request))
        .await
        .expect("answered within 10 s");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = match response.into_body() {
        Body::Empty => String::new(),
        Body::Text(text) => text,
        Body::Binary(bytes) => panic!(
            "JSON answers go out as text, got {} bytes binary",
            bytes.len()
        ),
        _ => panic!("unknown body kind"),
    };
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn every_event_kind_serves_a_record() {
    let s = setup(&[]).await;
    for kind in ALL {
        let a = invoke(
            &s.gateway,
            &event(kind, &Call::get("/v1/store-products/13")),
        )
        .await;
        assert_eq!(a.status, 200, "{kind:?}: {}", a.body);
        assert_eq!(a.body, RECORD_13, "{kind:?}");
        assert_eq!(a.header("content-type"), Some(JSON), "{kind:?}");
        assert_eq!(
            a.header("cache-control"),
            Some("public, max-age=30, stale-while-revalidate=30, stale-if-error=300"),
            "{kind:?}"
        );
        assert_eq!(
            a.header("x-content-type-options"),
            Some("nosniff"),
            "{kind:?}"
        );
        assert!(
            a.header("x-request-id").is_some_and(|v| !v.is_empty()),
            "{kind:?}"
        );
        let q = invoke(
            &s.gateway,
            &event(
                kind,
                &Call {
                    query: &[("utm", "x"), ("id", "13")],
                    ..Call::get("/v1/store-products")
                },
            ),
        )
        .await;
        assert_eq!(
            (q.status, q.body.as_str()),
            (200, RECORD_13),
            "{kind:?} query"
        );
        let health = invoke(&s.gateway, &event(kind, &Call::get("/healthz"))).await;
        assert_eq!(health.status, 200, "{kind:?}");
        // The record's read brought its product's flags and the inventory mode along.
        assert_eq!(
            health.body, r#"{"status":"ok","inventoryAccounting":true}"#,
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_rest_api_stage_is_not_part_of_the_route() {
    let s = setup(&[]).await;
    // The REST fixture's stage is `prod`: the event path may or may not carry it.
    for path in ["/v1/store-products/13", "/prod/v1/store-products/13"] {
        let a = invoke(&s.gateway, &event(Kind::RestV1, &Call::get(path))).await;
        assert_eq!((a.status, a.body.as_str()), (200, RECORD_13), "{path}");
    }
    let health = invoke(
        &s.gateway,
        &event(Kind::RestV1, &Call::get("/prod/healthz")),
    )
    .await;
    assert_eq!(health.status, 200);
    // Only a whole leading segment is the stage.
    let other = invoke(
        &s.gateway,
        &event(Kind::RestV1, &Call::get("/production/healthz")),
    )
    .await;
    assert_eq!(other.status, 404);
    // An HTTP API with a named stage sends it in rawPath.
    for path in ["/live/v1/store-products/13", "/v1/store-products/13"] {
        let v2 = with_field(
            &event(Kind::HttpV2, &Call::get(path)),
            &["requestContext", "stage"],
            json!("live"),
        );
        let a = invoke(&s.gateway, &v2).await;
        assert_eq!((a.status, a.body.as_str()), (200, RECORD_13), "v2 {path}");
    }
    // With the `$default` stage nothing is stripped.
    let a = invoke(
        &s.gateway,
        &event(Kind::HttpV2, &Call::get("/prod/healthz")),
    )
    .await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn bitrix_post_with_base64_bodies() {
    let s = setup(&[]).await;
    for kind in ALL {
        for (content_type, body) in [
            ("application/json", &br#"{"id":13,"auth":"x"}"#[..]),
            ("application/x-www-form-urlencoded", &b"id=13&auth=zzz"[..]),
        ] {
            let a = invoke(
                &s.gateway,
                &event(
                    kind,
                    &Call {
                        method: "POST",
                        path: "/catalog.storeproduct.get",
                        query: &[],
                        headers: &[("content-type", content_type)],
                        body: Some(body),
                    },
                ),
            )
            .await;
            assert_eq!(a.status, 200, "{kind:?} {content_type}: {}", a.body);
            assert_eq!(
                bitrix_result(&a.body),
                bitrix_13(),
                "{kind:?} {content_type}"
            );
        }
        // A plain-text (not base64) body reads the same.
        let plain = with_field(
            &with_field(
                &event(
                    kind,
                    &Call {
                        method: "POST",
                        path: "/catalog.storeproduct.get.json",
                        query: &[],
                        headers: &[("content-type", "application/json")],
                        body: None,
                    },
                ),
                &["body"],
                json!(r#"{"id":"13"}"#),
            ),
            &["isBase64Encoded"],
            json!(false),
        );
        let a = invoke(&s.gateway, &plain).await;
        assert_eq!(
            (a.status, bitrix_result(&a.body)),
            (200, bitrix_13()),
            "{kind:?} text body"
        );
        // Over 16 KiB after decoding.
        let big = format!(r#"{{"id":13,"pad":"{}"}}"#, "x".repeat(20_000));
        let a = invoke(
            &s.gateway,
            &event(
                kind,
                &Call {
                    method: "POST",
                    path: "/catalog.storeproduct.get",
                    query: &[],
                    headers: &[("content-type", "application/json")],
                    body: Some(big.as_bytes()),
                },
            ),
        )
        .await;
        assert_eq!(a.status, 413, "{kind:?}: {}", a.body);
        assert!(a.body.contains("PAYLOAD_TOO_LARGE"), "{kind:?}");
    }
}

#[tokio::test]
async fn errors_methods_and_head() {
    let s = setup(&[]).await;
    for kind in ALL {
        let a = invoke(
            &s.gateway,
            &event(kind, &Call::get("/v1/store-products/013")),
        )
        .await;
        assert_eq!(a.status, 400, "{kind:?}");
        assert!(a.body.contains(r#""code":"invalid_id""#), "{kind:?}");
        assert_eq!(a.header("cache-control"), Some("no-store"), "{kind:?}");
        let a = invoke(&s.gateway, &event(kind, &Call::get("/nope"))).await;
        assert_eq!(a.status, 404, "{kind:?}");
        let a = invoke(
            &s.gateway,
            &event(
                kind,
                &Call {
                    method: "DELETE",
                    ..Call::get("/v1/store-products/13")
                },
            ),
        )
        .await;
        assert_eq!(a.status, 405, "{kind:?}");
        assert_eq!(a.header("allow"), Some("GET, HEAD, OPTIONS"), "{kind:?}");
        let a = invoke(
            &s.gateway,
            &event(kind, &Call::get("/v1/store-products/99999")),
        )
        .await;
        assert_eq!(a.status, 404, "{kind:?}");
        let a = invoke(
            &s.gateway,
            &event(
                kind,
                &Call {
                    method: "HEAD",
                    ..Call::get("/v1/store-products/13")
                },
            ),
        )
        .await;
        assert_eq!((a.status, a.body.as_str()), (200, ""), "{kind:?} HEAD");
        let get = invoke(
            &s.gateway,
            &event(kind, &Call::get("/v1/store-products/13")),
        )
        .await;
        let get_length = get.body.len().to_string();
        assert_eq!(
            a.header("content-length"),
            Some(get_length.as_str()),
            "{kind:?} HEAD has the GET's length"
        );
        // A portal fault is a stable error, the portal's words never pass.
        let a = invoke(
            &s.gateway,
            &event(kind, &Call::get("/v1/store-products/990019")),
        )
        .await;
        assert_eq!(a.status, 502, "{kind:?}");
        assert!(a.body.contains("upstream_error"), "{kind:?}");
        assert!(!a.body.contains(&s.sandbox_code) && !a.body.contains("/rest/"));
    }
}

#[tokio::test]
async fn cors_answers_and_preflights() {
    let s = setup(&[]).await;
    for kind in ALL {
        let a = invoke(
            &s.gateway,
            &event(
                kind,
                &Call {
                    headers: &[("origin", "https://shop.example")],
                    ..Call::get("/v1/store-products/13")
                },
            ),
        )
        .await;
        assert_eq!(
            a.header("access-control-allow-origin"),
            Some("https://shop.example"),
            "{kind:?}"
        );
        assert!(
            a.header("vary").is_some_and(|v| v.contains("Origin")),
            "{kind:?}"
        );
        let p = invoke(
            &s.gateway,
            &event(
                kind,
                &Call {
                    method: "OPTIONS",
                    path: "/catalog.storeproduct.get",
                    query: &[],
                    headers: &[
                        ("origin", "https://shop.example"),
                        ("access-control-request-method", "POST"),
                    ],
                    body: None,
                },
            ),
        )
        .await;
        assert_eq!(p.status, 204, "{kind:?}");
        assert!(
            p.header("access-control-allow-methods")
                .is_some_and(|m| m.contains("POST")),
            "{kind:?}"
        );
        let other = invoke(
            &s.gateway,
            &event(
                kind,
                &Call {
                    headers: &[("origin", "https://evil.example")],
                    ..Call::get("/v1/store-products/13")
                },
            ),
        )
        .await;
        assert_eq!(
            other.header("access-control-allow-origin"),
            None,
            "{kind:?}"
        );
    }
}

/// An event that names no caller (an ALB event without `X-Forwarded-For`) is not let through
/// unlimited: every such request shares one allowance.
#[tokio::test]
async fn requests_without_a_caller_address_share_one_allowance() {
    let s = setup(&[("STOCK_RATE_LIMIT_PER_MIN", "2")]).await;
    let anonymous = {
        let mut alb: serde_json::Value =
            serde_json::from_str(&event(Kind::Alb, &Call::get("/v1/store-products/13"))).unwrap();
        alb["headers"]
            .as_object_mut()
            .expect("headers")
            .remove("x-forwarded-for");
        alb.to_string()
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(invoke(&s.gateway, &anonymous).await.status);
    }
    assert_eq!(statuses, [200, 200, 429]);
    // A caller the ALB does name has an allowance of its own.
    let named = event(
        Kind::Alb,
        &Call {
            headers: &[("x-forwarded-for", "198.51.100.77")],
            ..Call::get("/v1/store-products/13")
        },
    );
    assert_eq!(invoke(&s.gateway, &named).await.status, 200);
}

/// The per-caller limit counts the address from the request context, not a header the caller
/// can set; behind an ALB, the last `X-Forwarded-For` entry (the one the ALB appended).
#[tokio::test]
async fn the_client_address_comes_from_the_request_context() {
    let s = setup(&[("STOCK_RATE_LIMIT_PER_MIN", "1")]).await;
    for kind in ALL {
        let from = |ip: &'static str, forwarded: &'static str| {
            let call = event(
                kind,
                &Call {
                    headers: &[("x-forwarded-for", forwarded)],
                    ..Call::get("/v1/store-products/13")
                },
            );
            match kind {
                Kind::RestV1 => with_field(
                    &call,
                    &["requestContext", "identity", "sourceIp"],
                    json!(ip),
                ),
                Kind::HttpV2 | Kind::FunctionUrl => {
                    with_field(&call, &["requestContext", "http", "sourceIp"], json!(ip))
                }
                Kind::Alb => call,
            }
        };
        let (first_ip, other_ip) = match kind {
            Kind::RestV1 => ("198.51.100.1", "198.51.100.2"),
            Kind::HttpV2 => ("198.51.100.3", "198.51.100.4"),
            Kind::Alb => ("198.51.100.5", "198.51.100.6"),
            Kind::FunctionUrl => ("198.51.100.7", "198.51.100.8"),
        };
        let spoof = |real: &'static str, fake: &'static str| -> &'static str {
            // The caller controls the first entries; the ALB appends the peer last.
            Box::leak(format!("{fake}, {real}").into_boxed_str())
        };
        let a = invoke(&s.gateway, &from(first_ip, spoof(first_ip, "10.9.9.1"))).await;
        assert_eq!(a.status, 200, "{kind:?} first call");
        // Same caller, another forged header: still the same caller.
        let a = invoke(&s.gateway, &from(first_ip, spoof(first_ip, "10.9.9.2"))).await;
        assert_eq!(a.status, 429, "{kind:?}: {}", a.body);
        assert!(a.header("retry-after").is_some(), "{kind:?}");
        // Another caller is not affected.
        let a = invoke(&s.gateway, &from(other_ip, spoof(other_ip, "10.9.9.1"))).await;
        assert_eq!(a.status, 200, "{kind:?} other caller");
    }
}

/// The bootstrap refuses a misspelt `STOCK_*` variable before it asks the runtime for an event,
/// in both roles (exit 2, naming the variable and the closest known one).
#[test]
fn the_bootstrap_refuses_a_misspelt_variable() {
    for role in ["serve", "sweep"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
            .env_clear()
            .env("STOCK_LAMBDA_ROLE", role)
            .env("STOCK_ALLOWED_STORE", "1")
            .env(
                "B24_WEBHOOK_URL",
                "https://portal.example/rest/1/leakcheck123456/",
            )
            // Nothing listens here: the refusal must come first.
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the bootstrap runs");
        let text = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{role}: {text}");
        assert!(text.contains("STOCK_ALLOWED_STORE:"), "{role}: {text}");
        assert!(text.contains("STOCK_ALLOWED_STORES"), "{role}: {text}");
        assert!(!text.contains("leakcheck123456"), "{text}");
    }
}

#[tokio::test]
async fn start_up_needs_a_webhook_source_and_names_it() {
    let err = lambda::gateway_from_lookup(|_| None)
        .err()
        .expect("refused");
    assert_eq!(err.variable, "B24_WEBHOOK_SECRET_ARN");
    let secret = "https://portal.example/rest/1/leakcheck123456/";
    let insecure = secret.replace("https", "http");
    let err =
        lambda::gateway_from_lookup(|name| (name == "B24_WEBHOOK_URL").then(|| insecure.clone()))
            .err()
            .expect("refused");
    assert_eq!(err.variable, "B24_WEBHOOK_URL");
    assert!(!err.to_string().contains("leakcheck123456"));
    let err = lambda::gateway_from_lookup(|name| match name {
        "B24_WEBHOOK_SECRET_ARN" => Some("arn:aws:secretsmanager:eu-central-1:1:secret:b24".into()),
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT" => Some("http".into()),
        _ => None,
    })
    .err()
    .expect("refused");
    assert_eq!(err.variable, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT");
}
