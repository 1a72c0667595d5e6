//! Portal protection against the sandbox's real leaky bucket: coalescing, caching,
//! stale-if-error, negative caching, the portal budget, the operating-time pause and the
//! per-caller limit.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{client, spawn_gateway, spawn_sandbox};

struct Reply {
    status: u16,
    cache: Option<String>,
    age: Option<u64>,
    retry_after: Option<u64>,
    body: String,
}

async fn get(http: &reqwest::Client, url: String, headers: &[(&str, &str)]) -> Reply {
    let mut request = http.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (status, cache, age, retry_after) = (
        response.status().as_u16(),
        header("x-cache"),
        header("age").and_then(|a| a.parse().ok()),
        header("retry-after").and_then(|a| a.parse().ok()),
    );
    Reply {
        status,
        cache,
        age,
        retry_after,
        body: response.text().await.expect("body"),
    }
}

#[tokio::test]
async fn four_hundred_concurrent_reads_of_a_cold_id_cost_one_portal_call() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    // 400 requests from one address: this measures coalescing, not the per-caller limit.
    let gateway = Arc::new(spawn_gateway(
        &sandbox.webhook(),
        &[("STOCK_RATE_LIMIT_PER_MIN", "0")],
    ));
    let http = client();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..400 {
        let (http, url) = (
            http.clone(),
            format!("{}/v1/store-products/42", gateway.base),
        );
        tasks.spawn(async move { get(&http, url, &[]).await });
    }
    let replies = tasks.join_all().await;
    assert!(
        replies.iter().all(|r| r.status == 200),
        "every caller gets the record"
    );
    let first = &replies[0].body;
    assert!(replies.iter().all(|r| &r.body == first));
    assert_eq!(
        sandbox.get_calls(42).await,
        1,
        "one portal call for 400 readers"
    );
    let misses = replies
        .iter()
        .filter(|r| r.cache.as_deref() == Some("MISS"))
        .count();
    assert!(
        misses >= 1,
        "the readers that waited for the call are misses"
    );
    // Now it is cached.
    let hit = get(&http, format!("{}/v1/store-products/42", gateway.base), &[]).await;
    assert_eq!(hit.cache.as_deref(), Some("HIT"));
    assert!(hit.age.is_some());
    assert_eq!(sandbox.get_calls(42).await, 1);
}

/// An answer near the end of its life is served at once and read again in the background, so
/// the caller after it still hits.
#[tokio::test]
async fn answers_near_their_end_are_refreshed_in_the_background() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_CACHE_TTL_SECS", "2")]);
    let http = client();
    let url = format!("{}/v1/store-products/61", gateway.base);
    assert_eq!(
        get(&http, url.clone(), &[]).await.cache.as_deref(),
        Some("MISS")
    );
    // Past 80 % of the TTL: a hit, and a refresh behind it.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let near_end = get(&http, url.clone(), &[]).await;
    assert_eq!(
        (near_end.status, near_end.cache.as_deref()),
        (200, Some("HIT"))
    );
    let mut calls = 0;
    for _ in 0..40 {
        calls = sandbox.get_calls(61).await;
        if calls == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(calls, 2, "the refresh read the record again");
    // After the first answer's TTL: still a hit, from the refreshed entry.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = get(&http, url, &[]).await;
    assert_eq!((after.status, after.cache.as_deref()), (200, Some("HIT")));
    assert_eq!(sandbox.get_calls(61).await, 2);
}

#[tokio::test]
async fn the_last_good_answer_stands_in_while_the_portal_fails() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_CACHE_TTL_SECS", "1"),
            ("STOCK_STALE_IF_ERROR_SECS", "60"),
        ],
    );
    let http = client();
    let url = format!("{}/v1/store-products/13", gateway.base);
    let fresh = get(&http, url.clone(), &[]).await;
    assert_eq!((fresh.status, fresh.cache.as_deref()), (200, Some("MISS")));

    sandbox
        .control(serde_json::json!({"fault": "internal_error"}))
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale = get(&http, url.clone(), &[]).await;
    assert_eq!((stale.status, stale.cache.as_deref()), (200, Some("STALE")));
    assert_eq!(stale.body, fresh.body);
    assert!(stale.age.is_some_and(|a| a >= 1), "Age tells how old it is");
    // A record never seen before has nothing to stand in.
    let never = get(&http, format!("{}/v1/store-products/20", gateway.base), &[]).await;
    assert_eq!(never.status, 502);

    sandbox.control(serde_json::json!({"fault": null})).await;
    let recovered = get(&http, url, &[]).await;
    assert_eq!(
        (recovered.status, recovered.cache.as_deref()),
        (200, Some("MISS"))
    );
}

#[tokio::test]
async fn missing_records_are_cached_briefly() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_NEGATIVE_TTL_SECS", "1")]);
    let http = client();
    let url = format!("{}/v1/store-products/77777", gateway.base);
    let first = get(&http, url.clone(), &[]).await;
    let second = get(&http, url.clone(), &[]).await;
    assert_eq!((first.status, first.cache.as_deref()), (404, Some("MISS")));
    assert_eq!((second.status, second.cache.as_deref()), (404, Some("HIT")));
    assert_eq!(sandbox.get_calls(77777).await, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = get(&http, url, &[]).await;
    assert_eq!((later.status, later.cache.as_deref()), (404, Some("MISS")));
    assert_eq!(sandbox.get_calls(77777).await, 2);
}

#[tokio::test]
async fn calls_stop_before_the_operating_time_block() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    // Each call costs 100 s of server time against a 480 s cap: the fifth reaches 500.
    sandbox
        .control(serde_json::json!({"operatingCostSecs": 100.0, "operatingLimitSecs": 480.0}))
        .await;
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[("STOCK_PORTAL_OPERATING_LIMIT_SECS", "480")],
    );
    let http = client();
    let mut statuses = Vec::new();
    for id in 30..38 {
        let reply = get(
            &http,
            format!("{}/v1/store-products/{id}", gateway.base),
            &[],
        )
        .await;
        if reply.status == 503 {
            let wait = reply.retry_after.expect("Retry-After while paused");
            assert!(
                wait > 60,
                "resumes at the portal's reset time, minutes away: {wait}"
            );
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 503, 503, 503]);
    let stats = sandbox.stats().await;
    assert_eq!(
        stats["operationTimeLimit"], 0,
        "the portal never had to block: {stats}"
    );
    let gets = |part: &str| {
        stats[part]["catalog.storeproduct.get"]
            .as_u64()
            .unwrap_or(0)
    };
    assert_eq!(gets("calls") + gets("commands"), 5, "{stats}");
}

#[tokio::test]
async fn each_caller_has_a_limit() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_RATE_LIMIT_PER_MIN", "5"),
            ("STOCK_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
        ],
    );
    let http = client();
    let url = format!("{}/v1/store-products/13", gateway.base);
    let alice = [("x-forwarded-for", "203.0.113.10")];
    for _ in 0..5 {
        assert_eq!(get(&http, url.clone(), &alice).await.status, 200);
    }
    let limited = get(&http, url.clone(), &alice).await;
    assert_eq!(limited.status, 429);
    assert!(limited.body.contains("rate_limited"), "{}", limited.body);
    assert!(limited.retry_after.is_some_and(|s| (1..=60).contains(&s)));
    // Another caller behind the same proxy is counted separately.
    let bob = [("x-forwarded-for", "198.51.100.20")];
    assert_eq!(get(&http, url.clone(), &bob).await.status, 200);
    // The gateway's own answers count too: a refused caller cannot fetch them either.
    for path in ["/healthz", "/openapi.json", "/widget.js"] {
        let refused = get(&http, format!("{}{path}", gateway.base), &alice).await;
        assert_eq!(refused.status, 429, "{path}");
        assert!(
            refused.body.contains("rate_limited"),
            "{path}: {}",
            refused.body
        );
    }
    let health = get(&http, format!("{}/healthz", gateway.base), &bob).await;
    assert_eq!(health.status, 200, "another caller");
}

#[tokio::test]
async fn a_portal_rate_limit_refusal_is_retried_inside_the_deadline() {
    // A portal whose bucket someone else has nearly spent: one request, then 2/s.
    let sandbox = spawn_sandbox(2.0, 1.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_PORTAL_RATE_PER_SEC", "1000"),
            ("STOCK_PORTAL_BURST", "100000"),
        ],
    );
    let http = client();
    let first = get(&http, format!("{}/v1/store-products/50", gateway.base), &[]).await;
    assert_eq!(first.status, 200);
    let started = std::time::Instant::now();
    let second = get(&http, format!("{}/v1/store-products/51", gateway.base), &[]).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "inside the 3 s deadline"
    );
    let refused = sandbox.stats().await["queryLimitExceeded"]
        .as_u64()
        .unwrap_or(0);
    assert!(refused >= 1, "the portal did refuse first");
}

/// A portal that claims a block until far in the future (or writes its reset time in
/// milliseconds) pauses the gateway at most as long as the portal's real block: ten minutes.
#[tokio::test]
async fn an_absurd_reset_time_pauses_at_most_ten_minutes() {
    for fault_id in [990_027, 990_028] {
        let sandbox = spawn_sandbox(100.0, 1000.0);
        let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_RATE_LIMIT_PER_MIN", "0")]);
        let http = client();
        let blocked = get(
            &http,
            format!("{}/v1/store-products/{fault_id}", gateway.base),
            &[],
        )
        .await;
        assert_eq!(blocked.status, 503, "{fault_id}: {}", blocked.body);
        let paused = get(&http, format!("{}/v1/store-products/21", gateway.base), &[]).await;
        assert_eq!(
            paused.status, 503,
            "{fault_id}: later misses wait for the reset"
        );
        for reply in [&blocked, &paused] {
            let wait = reply.retry_after.expect("Retry-After");
            assert!((1..=600).contains(&wait), "{fault_id}: Retry-After {wait}");
        }
    }
}

/// An unknown error whose text says "not found", with a 503, is a portal fault: the last good
/// answer stands in, and nothing is cached as missing.
#[tokio::test]
async fn a_service_that_is_not_found_is_a_fault_not_a_missing_record() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_CACHE_TTL_SECS", "1"),
            ("STOCK_STALE_IF_ERROR_SECS", "60"),
        ],
    );
    let http = client();
    let url = format!("{}/v1/store-products/13", gateway.base);
    assert_eq!(get(&http, url.clone(), &[]).await.status, 200);
    sandbox
        .control(serde_json::json!({"fault": "service_not_found"}))
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale = get(&http, url.clone(), &[]).await;
    assert_eq!((stale.status, stale.cache.as_deref()), (200, Some("STALE")));
    sandbox.control(serde_json::json!({"fault": null})).await;
    let recovered = get(&http, url, &[]).await;
    assert_eq!(
        (recovered.status, recovered.cache.as_deref()),
        (200, Some("MISS"))
    );
}

/// A "not found" never stands in while the portal fails: its short life is its whole promise
/// (a record may have appeared since), so the failure is answered as one.
#[tokio::test]
async fn a_not_found_never_stands_in_as_stale() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_NEGATIVE_TTL_SECS", "1"),
            ("STOCK_STALE_IF_ERROR_SECS", "60"),
        ],
    );
    let http = client();
    let url = format!("{}/v1/store-products/77776", gateway.base);
    let fresh = http.get(&url).send().await.unwrap();
    assert_eq!(fresh.status(), 404);
    assert_eq!(fresh.headers()["cache-control"], "public, max-age=1");
    sandbox
        .control(serde_json::json!({"fault": "internal_error"}))
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let failed = http.get(&url).send().await.unwrap();
    assert_eq!(failed.status(), 502);
    assert_eq!(failed.headers()["x-cache"], "MISS");
    assert_eq!(failed.headers()["cache-control"], "no-store");
}

/// A product with more stock records than the gateway reads (ten list pages) answers 502, and
/// asking again within the negative lifetime costs no portal request; once it is back under
/// the cap, it is answered after that lifetime.
#[tokio::test]
async fn a_product_past_the_page_cap_is_refused_from_the_cache() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let records: Vec<_> = (0..501u32)
        .map(|k| {
            serde_json::json!({"id": 60_001 + k, "productId": 9100, "storeId": 1,
                "amount": 1, "quantityReserved": 0})
        })
        .collect();
    sandbox
        .control(serde_json::json!({"records": {"set": records}}))
        .await;
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_NEGATIVE_TTL_SECS", "2"),
            ("STOCK_RATE_LIMIT_PER_MIN", "0"),
        ],
    );
    let http = client();
    let url = format!("{}/v1/products/9100/stock", gateway.base);
    let requests = || async { sandbox.stats().await["requests"].as_u64().unwrap() };
    let before = requests().await;
    let first = get(&http, url.clone(), &[]).await;
    assert_eq!(first.status, 502, "{}", first.body);
    assert!(first.body.contains("upstream_error"), "{}", first.body);
    let read = requests().await;
    assert_eq!(read - before, 1, "the first page tells the count");
    for _ in 0..5 {
        let again = get(&http, url.clone(), &[]).await;
        assert_eq!(again.status, 502, "{}", again.body);
        assert_eq!(again.cache.as_deref(), Some("HIT"));
    }
    assert_eq!(requests().await, read, "asking again read the portal");

    sandbox
        .control(serde_json::json!({"records": {"delete": [60_501]}}))
        .await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let back = get(&http, url, &[]).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert!(back.body.contains("9100"), "{}", back.body);
}

/// The race behind a second portal call for one cold id: a request misses the cache, another
/// request's flight lands (its answer kept, the flight gone), and then the first request joins
/// the flights and leads. It must find the landed answer instead of asking the portal again.
#[tokio::test]
async fn a_lead_that_comes_after_a_landing_takes_the_landed_answer() {
    use b24_stock_gateway::core::config::Settings;
    use b24_stock_gateway::core::domain::id::RecordId;
    use b24_stock_gateway::core::ports::CacheKey;
    use b24_stock_gateway::core::source::on_demand::PortalSource;
    use b24_stock_gateway::native::clock::SystemClock;
    use b24_stock_gateway::native::portal_http::WebhookPortal;

    let sandbox = spawn_sandbox(100.0, 1000.0);
    let settings = Settings::from_lookup(|_| None).unwrap();
    let webhook =
        b24_stock_gateway::core::config::webhook_from("B24_WEBHOOK_URL", Some(&sandbox.webhook()))
            .unwrap();
    let source = PortalSource::over_portal(
        &settings,
        WebhookPortal::new(webhook),
        SystemClock::default(),
    );
    let key = [CacheKey::Record(RecordId::from_u64(43).unwrap())];
    // Both "requests" missed the cache before either fetched; they fetch one after the other.
    let first = source.fetch(&key, None).await;
    let second = source.fetch(&key, None).await;
    assert!(first[0].is_ok() && second[0].is_ok());
    assert_eq!(
        first[0].as_ref().unwrap().value,
        second[0].as_ref().unwrap().value
    );
    assert_eq!(sandbox.get_calls(43).await, 1, "the portal was asked twice");
}
