//! Operator metrics on the local server: Prometheus (OpenMetrics text) on a separate, opt-in
//! listener, never on the public port.

mod support;

use support::{client, spawn_gateway, spawn_sandbox};

/// The value of the first sample line starting with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn counters_on_a_private_listener() {
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_METRICS_LISTEN", "127.0.0.1:0"),
            ("STOCK_RATE_LIMIT_PER_MIN", "0"),
        ],
    );
    let metrics_at = support::logged_address(&gateway.log, "metrics at /metrics");
    let http = client();
    for path in [
        "/v1/store-products/13",
        "/v1/store-products/13",
        "/v1/store-products?ids=14,15,99999",
        "/v1/store-products/990019",
        "/v1/store-products/0",
    ] {
        http.get(format!("{}{path}", gateway.base))
            .send()
            .await
            .unwrap();
    }
    let scrape = http
        .get(format!("http://{metrics_at}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(scrape.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = scrape.text().await.unwrap();
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
    assert_eq!(
        value(r#"b24_gateway_requests_total{route="v1.store_product",status="200"}"#),
        2.0
    );
    assert_eq!(
        value(r#"b24_gateway_requests_total{route="v1.store_products",status="200"}"#),
        1.0
    );
    assert_eq!(
        value(r#"b24_gateway_requests_total{route="v1.store_product",status="502"}"#),
        1.0
    );
    assert_eq!(
        value(r#"b24_gateway_requests_total{route="v1.store_product",status="400"}"#),
        1.0
    );
    assert_eq!(value(r#"b24_gateway_cache_total{result="hit"}"#), 1.0);
    assert_eq!(value(r#"b24_gateway_cache_total{result="miss"}"#), 3.0);
    // Each read of cold records carries their products' flags in its own batch: 13 (with its
    // product's flags and the inventory mode); 14, 15 and 99999 (with 7001's and 7002's
    // flags); 990019 (failed).
    assert_eq!(
        value(r#"b24_gateway_portal_exchanges_total{outcome="ok"}"#),
        2.0
    );
    assert_eq!(
        value(r#"b24_gateway_portal_exchanges_total{outcome="error"}"#),
        1.0
    );
    // Commands: 13, its flags and the mode (3); 14, 15, 99999 and their flags (6); 990019 and
    // its flags (2).
    assert_eq!(value("b24_gateway_portal_requests_total"), 3.0);
    assert_eq!(value("b24_gateway_batch_commands_count"), 3.0);
    assert_eq!(value("b24_gateway_batch_commands_sum"), 11.0);
    assert_eq!(value(r#"b24_gateway_batch_commands_bucket{le="1.0"}"#), 0.0);
    // 13, 14 and 15, and 99999's "not found"; the portal error for 990019 is not kept.
    assert_eq!(value("b24_gateway_cache_entries"), 4.0);
    let level = value("b24_gateway_portal_budget_level");
    assert!((0.0..=1.0).contains(&level), "{level}");
    assert!(!text.contains(&sandbox.code), "metrics show the webhook");

    // Never on the public port.
    let public = http
        .get(format!("{}/metrics", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
}

#[tokio::test]
async fn a_mirror_reports_its_table_and_sweeps() {
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_METRICS_LISTEN", "127.0.0.1:0"),
            ("STOCK_SOURCE", "mirror"),
            ("STOCK_MIRROR_INTERVAL_SECS", "3600"),
        ],
    );
    let metrics_at = support::logged_address(&gateway.log, "metrics at /metrics");
    support::wait_serving_mirror(&gateway.base);
    let text = client()
        .get(format!("http://{metrics_at}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
    let health: serde_json::Value = client()
        .get(format!("{}/healthz", gateway.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mirror = &health["mirror"];
    assert!(value("b24_gateway_mirror_rows ") >= 20.0, "{text}");
    assert_eq!(
        value("b24_gateway_mirror_rows "),
        mirror["rows"].as_f64().unwrap()
    );
    assert_eq!(value("b24_gateway_mirror_sweeps_total "), 1.0);
    assert_eq!(value("b24_gateway_mirror_sweep_failures_total "), 0.0);
    assert_eq!(
        value("b24_gateway_mirror_last_sweep_portal_requests "),
        mirror["lastSweepPortalRequests"].as_f64().unwrap()
    );
    assert!(value("b24_gateway_mirror_last_sweep_seconds ") >= 0.0);
    assert!(value("b24_gateway_mirror_oldest_age_seconds ") >= 0.0);
    assert_eq!(value("b24_gateway_mirror_behind "), 0.0);
}
