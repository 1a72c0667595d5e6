//! Mirror mode on the local server (`STOCK_SOURCE=mirror`), against the sandbox: reads never
//! reach the portal once the table is in service; changes, deletions and new records show
//! within an interval; a failing portal leaves the last table in service for the stale window,
//! then 503; and 100,000 records take at most 45 portal requests a sweep.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{client, spawn_gateway, spawn_sandbox_with, wait_serving_mirror, Gateway, Sandbox};

/// A sandbox (a fast bucket unless said otherwise) and a mirror in front of it, serving from
/// its first table.
fn mirror(records: u32, vars: &[(&str, &str)]) -> (Sandbox, Gateway) {
    let sandbox = spawn_sandbox_with(1000.0, 100_000.0, records);
    let mut all = vec![
        ("STOCK_SOURCE", "mirror"),
        ("STOCK_RATE_LIMIT_PER_MIN", "0"),
        ("STOCK_PORTAL_RATE_PER_SEC", "200"),
        ("STOCK_PORTAL_BURST", "1000"),
    ];
    all.extend_from_slice(vars);
    let gateway = spawn_gateway(&sandbox.webhook(), &all);
    (sandbox, gateway)
}

async fn get(url: String) -> (u16, Option<String>, Value) {
    let reply = client().get(url).send().await.expect("gateway answers");
    let status = reply.status().as_u16();
    let cache = reply
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = reply.json().await.unwrap_or(Value::Null);
    (status, cache, body)
}

async fn health(gateway: &Gateway) -> Value {
    get(format!("{}/healthz", gateway.base)).await.2
}

/// Polls `check` every 200 ms until it holds, for up to `within`.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn once_the_table_serves_reads_cost_the_portal_nothing() {
    let (sandbox, gateway) = mirror(0, &[("STOCK_MIRROR_INTERVAL_SECS", "3600")]);
    wait_serving_mirror(&gateway.base);
    let before = sandbox.stats().await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..2_000u32 {
        // Real ids, unknown ones, ids above the highest, and products.
        let path = match n % 4 {
            0 => format!("/v1/store-products/{}", 1 + n % 300),
            1 => format!("/v1/store-products/{}", 500_000 + n),
            2 => format!(
                "/v1/store-products?ids={},{},{}",
                1 + n % 290,
                2001 + n % 90,
                900 + n
            ),
            _ => format!("/v1/products/{}/stock", 6000 + n % 310),
        };
        let base = gateway.base.clone();
        tasks.spawn(async move { get(format!("{base}{path}")).await });
    }
    for (status, cache, _) in tasks.join_all().await {
        assert!([200, 404].contains(&status), "{status}");
        assert_eq!(cache.as_deref(), Some("HIT"));
    }
    let after = sandbox.stats().await;
    assert_eq!(
        after["requests"], before["requests"],
        "no portal request: {after}"
    );
    assert_eq!(after["getCallsById"], before["getCallsById"]);
}

#[tokio::test]
async fn changes_deletions_and_new_records_show_within_an_interval() {
    let (sandbox, gateway) = mirror(0, &[("STOCK_MIRROR_INTERVAL_SECS", "5")]);
    wait_serving_mirror(&gateway.base);
    let record = |id: u32| format!("{}/v1/store-products/{id}", gateway.base);
    let (status, _, thirteen) = get(record(13)).await;
    assert_eq!((status, &thirteen["amount"]), (200, &json!(14)));
    assert_eq!(get(record(2500)).await.0, 404, "not created yet");
    sandbox
        .control(json!({"records": {
            "set": [
                {"id": 13, "productId": 6973, "storeId": 11, "amount": 99, "quantityReserved": null},
                {"id": 2500, "productId": 4242, "storeId": 1, "amount": 3, "quantityReserved": 1}
            ],
            "delete": [14]
        }}))
        .await;
    let interval = Duration::from_secs(5);
    let shown = eventually(2 * interval, || async {
        get(record(13)).await.2["amount"] == json!(99)
    })
    .await;
    assert!(
        shown,
        "the change shows within an interval (and the sweep's own time)"
    );
    let (status, cache, new) = get(record(2500)).await;
    assert_eq!((status, cache.as_deref()), (200, Some("HIT")), "{new}");
    assert_eq!(new["available"], 2);
    let (status, _, _) = get(record(14)).await;
    assert_eq!(status, 404, "a deleted record is gone");
    let (status, _, product) = get(format!("{}/v1/products/4242/stock", gateway.base)).await;
    assert_eq!((status, &product["amount"]), (200, &json!(3)));
}

#[tokio::test]
async fn a_failing_portal_leaves_the_last_table_for_the_stale_window_then_503() {
    let (sandbox, gateway) = mirror(
        0,
        &[
            ("STOCK_MIRROR_INTERVAL_SECS", "5"),
            ("STOCK_STALE_IF_ERROR_SECS", "4"),
        ],
    );
    wait_serving_mirror(&gateway.base);
    // Lists blocked for operating time: every sweep from now on fails.
    sandbox
        .control(json!({"operatingUsedSecs": {"catalog.storeproduct.list": 480}}))
        .await;
    let url = format!("{}/v1/store-products/13", gateway.base);
    let stale = eventually(Duration::from_secs(20), || async {
        get(url.clone()).await.1.as_deref() == Some("STALE")
    })
    .await;
    assert!(stale, "past its promise the table stands in, as stale");
    let (status, _, body) = get(url.clone()).await;
    assert_eq!(status, 200, "{body}");
    let health = health(&gateway).await;
    assert_eq!(health["mirror"]["behind"], true, "{health}");
    assert!(
        health["mirror"]["sweepFailures"].as_u64().unwrap_or(0) >= 1,
        "{health}"
    );
    let gone = eventually(Duration::from_secs(8), || async {
        get(url.clone()).await.0 == 503
    })
    .await;
    assert!(gone, "past the stale window: 503");
}

#[tokio::test]
async fn a_hundred_thousand_records_take_at_most_62_requests_a_first_sweep() {
    // A budget of 20 requests a second: slow enough to see the first sweep under way.
    let (sandbox, gateway) = mirror(
        100_000,
        &[
            ("STOCK_PORTAL_RATE_PER_SEC", "20"),
            ("STOCK_MIRROR_INTERVAL_SECS", "3600"),
        ],
    );
    let early = health(&gateway).await;
    assert_eq!(early["serving"], "on_demand", "{early}");
    let (status, cache, _) = get(format!("{}/v1/store-products/13", gateway.base)).await;
    assert_eq!(
        (status, cache.as_deref()),
        (200, Some("MISS")),
        "on demand meanwhile"
    );
    wait_serving_mirror(&gateway.base);
    let health = health(&gateway).await;
    let mirror = &health["mirror"];
    assert!(mirror["rows"].as_u64().unwrap_or(0) >= 100_000, "{health}");
    let requests = mirror["lastSweepPortalRequests"]
        .as_u64()
        .unwrap_or(u64::MAX);
    println!(
        "a sweep of 100,000 records: {requests} portal requests, {} s",
        mirror["lastSweepSecs"]
    );
    // The records: 43 batches of 50 ranges; their 33,000 products' flags: one product read on
    // its own to learn each catalog (the sandbox keeps variations in a second one), then 14
    // batches of 50 windows of 50 ids, and one for the second catalog. Later sweeps carry the
    // flags over for STOCK_FLAGS_TTL_SECS.
    assert!(requests <= 62, "{requests} portal requests");
    assert_eq!(
        health["inventoryAccounting"], true,
        "read by the sweep: {health}"
    );
    assert_eq!(mirror["behind"], false);
    let stats = sandbox.stats().await;
    assert_eq!(stats["queryLimitExceeded"], 0, "{stats}");
}

#[tokio::test]
async fn answers_say_their_age_and_the_time_left_to_the_next_sweep() {
    let (_sandbox, gateway) = mirror(0, &[("STOCK_MIRROR_INTERVAL_SECS", "10")]);
    wait_serving_mirror(&gateway.base);
    let headers = |path: &'static str| {
        let url = format!("{}{path}", gateway.base);
        async move {
            let reply = client().get(url).send().await.expect("gateway answers");
            let secs = |name: &str| -> u64 {
                let value = reply.headers()[name].to_str().unwrap_or_default();
                let value = value.strip_prefix("public, max-age=").unwrap_or(value);
                let value = value.split(',').next().unwrap_or(value);
                value.parse().unwrap_or_else(|_| panic!("{name}: {value}"))
            };
            (secs("age"), secs("cache-control"))
        }
    };
    for path in [
        "/v1/store-products/13",
        "/v1/store-products/99999",
        "/v1/store-products?ids=13,14",
        "/v1/products/6973/stock",
    ] {
        let (age, max_age) = headers(path).await;
        // Whole seconds, each rounded down: together at most the interval.
        assert!(
            max_age <= 10 && age + max_age <= 10,
            "{path}: Age {age}, max-age {max_age}"
        );
    }
    let (_, first) = headers("/v1/store-products/13").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (age, later) = headers("/v1/store-products/13").await;
    assert!(
        later < first || (age < 2 && later >= 8),
        "max-age counts down to the next sweep (or a sweep came between): {first} then {later}"
    );
}

#[tokio::test]
async fn a_gap_in_the_ids_however_wide_costs_nothing() {
    let (sandbox, gateway) = mirror(0, &[("STOCK_MIRROR_INTERVAL_SECS", "5")]);
    wait_serving_mirror(&gateway.base);
    let before = health(&gateway).await["mirror"]["lastSweepPortalRequests"].clone();
    // One record near the top of the id space: 43 million ranges of 50 ids if read in a row.
    sandbox
        .control(json!({"records": {"set": [
            {"id": 2_000_000_000u32, "productId": 4242, "storeId": 1, "amount": 5, "quantityReserved": null}
        ]}}))
        .await;
    let far = format!("{}/v1/store-products/2000000000", gateway.base);
    let shown = eventually(Duration::from_secs(15), || async {
        get(far.clone()).await.0 == 200
    })
    .await;
    assert!(shown, "the far record shows after the next sweep");
    let health = health(&gateway).await;
    let requests = health["mirror"]["lastSweepPortalRequests"]
        .as_u64()
        .unwrap_or(u64::MAX);
    // One batch for the far record's own range, at most one more for the gap before it.
    assert!(
        requests <= before.as_u64().unwrap_or(0) + 2,
        "the gap cost requests: {requests} (before: {before})"
    );
    assert_eq!(health["mirror"]["behind"], false, "{health}");
    let (status, _, _) = get(format!("{}/v1/store-products/1999999999", gateway.base)).await;
    assert_eq!(status, 404, "inside the gap");
}
