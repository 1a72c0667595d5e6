//! A storefront's burst against the portal's real bucket (2/s, burst 50): 200 cold real ids and
//! 50 unknown ones at once, each its own request. Batching must make them a handful of portal
//! requests: at least 99 % of the real ids answer 200, at most 25 portal requests, and the
//! portal never refuses.
//!
//! Against a local server started here, or, with `BURST_BASE_URL` and `BURST_SANDBOX_URL`, a
//! gateway a runner started (the Worker under `wrangler dev`) in front of a fresh sandbox with
//! the real bucket and no store filter.

mod support;

use std::collections::BTreeMap;

use support::{client, spawn_gateway, spawn_sandbox};

#[tokio::test]
async fn two_hundred_cold_ids_and_fifty_unknown_at_once() {
    // Keeps the processes started here alive for the test.
    let mut _owned = None;
    let (base, sandbox) = match (
        std::env::var("BURST_BASE_URL"),
        std::env::var("BURST_SANDBOX_URL"),
    ) {
        (Ok(base), Ok(sandbox)) => (base, sandbox),
        _ => {
            let sandbox = spawn_sandbox(2.0, 50.0);
            let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_RATE_LIMIT_PER_MIN", "0")]);
            let urls = (gateway.base.clone(), sandbox.base.clone());
            _owned = Some((sandbox, gateway));
            urls
        }
    };
    let http = client();
    let real = 1..=200u32;
    let unknown = 700_001..=700_050u32;
    let mut tasks = tokio::task::JoinSet::new();
    for id in real.clone().chain(unknown.clone()) {
        let (http, url) = (http.clone(), format!("{base}/v1/store-products/{id}"));
        tasks.spawn(async move {
            let status = match http.get(url).send().await {
                Ok(response) => response.status().as_u16(),
                Err(_) => 0,
            };
            (id, status)
        });
    }
    let replies = tasks.join_all().await;
    let mut statuses = BTreeMap::new();
    for (id, status) in &replies {
        let kind = if real.contains(id) { "real" } else { "unknown" };
        *statuses.entry((kind, *status)).or_insert(0) += 1;
    }
    let count = |kind: &str, status: u16| statuses.get(&(kind, status)).copied().unwrap_or(0);
    assert!(
        count("real", 200) >= 198,
        "at least 99 % of the real ids answer 200: {statuses:?}"
    );
    assert!(count("unknown", 404) >= 49, "{statuses:?}");
    let stats: serde_json::Value = http
        .get(format!("{sandbox}/_sandbox/stats"))
        .send()
        .await
        .expect("sandbox stats")
        .json()
        .await
        .expect("sandbox stats JSON");
    let requests = stats["requests"].as_u64().expect("requests counted");
    println!("storefront burst: {statuses:?}, {requests} portal requests");
    assert!(requests <= 25, "{requests} portal requests: {stats}");
    assert_eq!(
        stats["queryLimitExceeded"], 0,
        "the portal refused a call: {stats}"
    );
}
