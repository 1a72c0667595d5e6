//! Mirror mode on Lambda, against a real S3-speaking server on loopback (moto's server mode,
//! started by `scripts/test-lambda.sh`, which passes `MIRROR_S3_ENDPOINT`): the sweeper puts
//! the table in the bucket; an execution environment answers 503 until there is one, then only
//! from it, never calling the portal, and picks up the next one by its ETag.

mod support;

use std::collections::HashMap;

use b24_stock_gateway::core::source::configured::Configured;
use b24_stock_gateway::lambda::{self, LambdaGateway};
use serde_json::{json, Value};
use support::spawn_sandbox;

mod lambda_common;
use lambda_common::{event, Call, Kind};
#[path = "lambda_common/s3_server.rs"]
mod s3_server;
use s3_server::{bucket, endpoint};

fn lookup(vars: HashMap<&'static str, String>) -> impl Fn(&str) -> Option<String> {
    move |name| vars.get(name).cloned()
}

async fn invoke(gateway: &LambdaGateway, path: &str) -> (u16, Value, Option<String>) {
    let request =
        lambda_http::request::from_str(&event(Kind::FunctionUrl, &Call::get(path))).expect("event");
    let answer = lambda::handle(gateway, request).await;
    let status = answer.status().as_u16();
    let cache = answer
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match answer.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        lambda_http::Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body, cache)
}

#[tokio::test]
async fn the_sweeper_publishes_and_environments_read_only_the_table() {
    let Some(endpoint) = endpoint() else { return };
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let name = bucket(&endpoint).await;
    let vars = HashMap::from([
        ("STOCK_SOURCE", "mirror".to_string()),
        ("STOCK_MIRROR_INTERVAL_SECS", "60".to_string()),
        ("STOCK_MIRROR_BUCKET", name),
        ("STOCK_MIRROR_S3_ENDPOINT", endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("STOCK_RATE_LIMIT_PER_MIN", "0".to_string()),
        ("B24_WEBHOOK_URL", sandbox.webhook()),
    ]);
    let reader = lambda::gateway_from_lookup(lookup(vars.clone())).expect("reader");
    let sweeper = lambda::sweeper_from_lookup(lookup(vars.clone())).expect("sweeper");

    // No table yet: 503, and the portal is never asked.
    let (status, body, _) = invoke(&reader, "/v1/store-products/13").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("upstream_busy"))
    );
    let (_, health, _) = invoke(&reader, "/healthz").await;
    assert_eq!(health["serving"], "none", "{health}");
    assert_eq!(sandbox.stats().await["requests"], 0);

    // The sweeper publishes; the environment takes the table on its next look.
    assert_eq!(lambda::sweep(&sweeper).await["swept"], true);
    let swept = sandbox.stats().await["requests"].as_u64().unwrap_or(0);
    assert!(swept >= 2, "a sweep reads the portal: {swept}");
    let Configured::Mirror(mirror) = reader.source() else {
        panic!("mirror mode")
    };
    // (The first look was at the first invocation: look again now rather than in 5 s.)
    mirror.load().await;
    let (status, body, cache) = invoke(&reader, "/v1/store-products/13").await;
    assert_eq!((status, cache.as_deref()), (200, Some("HIT")), "{body}");
    assert_eq!(body["amount"], 14);
    for path in [
        "/v1/store-products/99999",
        "/v1/products/6973/stock",
        "/v1/store-products?ids=1,2,3",
    ] {
        let (status, _, cache) = invoke(&reader, path).await;
        assert!([200, 404].contains(&status), "{path}");
        assert_eq!(cache.as_deref(), Some("HIT"), "{path}");
    }
    assert_eq!(
        sandbox.stats().await["requests"].as_u64().unwrap_or(0),
        swept,
        "reads never reach the portal"
    );

    // A change, the next sweep, and the environment's next look (by ETag) shows it.
    sandbox
        .control(json!({"records": {"set": [
            {"id": 13, "productId": 6973, "storeId": 11, "amount": 7, "quantityReserved": null}
        ]}}))
        .await;
    assert!(
        !mirror.load().await,
        "unchanged: the ETag matches, nothing is read"
    );
    assert_eq!(lambda::sweep(&sweeper).await["swept"], true);
    assert!(mirror.load().await, "a new table");
    let (_, body, _) = invoke(&reader, "/v1/store-products/13").await;
    assert_eq!(body["amount"], 7);
}
