//! Fair on-demand reads against the sandbox's real bucket (2/s, burst 50): ordinary shoppers
//! whose misses arrive spread over time are served, with or without one abusive caller
//! beside them; records read steadily cost a few portal requests a minute; a flood of unknown
//! ids evicts nothing; an operating-time block on one method leaves the other running; and a
//! caller's cold reads are limited apart from its requests.
//!
//! Each simulated caller has its own address (`X-Forwarded-For` to a local server that trusts
//! it; `CF-Connecting-IP` to a Worker). `FAIR_SECS` sets how long the load runs (default 45
//! for the shoppers, 60 for the steady readers, whose claim is per minute).
//! With `FAIR_BASE_URL` and `FAIR_SANDBOX_URL` the load tests run against a gateway someone
//! else started (`scripts/test-worker.sh`, each test on a fresh session) and the local-only
//! tests are skipped.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{client, sandbox_stats, spawn_gateway, spawn_sandbox, Process};

/// A gateway in front of a sandbox with the portal's real bucket.
struct Setup {
    base: String,
    sandbox: String,
    _owned: Vec<Process>,
}

/// The runner's gateway, or a fresh local one (default settings but `vars`).
fn setup(vars: &[(&str, &str)]) -> Setup {
    if let (Ok(base), Ok(sandbox)) = (
        std::env::var("FAIR_BASE_URL"),
        std::env::var("FAIR_SANDBOX_URL"),
    ) {
        return Setup {
            base,
            sandbox,
            _owned: Vec::new(),
        };
    }
    let sandbox = spawn_sandbox(2.0, 50.0);
    let mut all = vec![("STOCK_TRUSTED_PROXY_HEADER", "x-forwarded-for")];
    all.extend_from_slice(vars);
    let gateway = spawn_gateway(&sandbox.webhook(), &all);
    Setup {
        base: gateway.base,
        sandbox: sandbox.base.clone(),
        _owned: vec![sandbox.process, gateway.process],
    }
}

fn local_only() -> bool {
    std::env::var("FAIR_BASE_URL").is_err()
}

fn load_secs(default: u64) -> u64 {
    std::env::var("FAIR_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A small, seeded generator: the same load on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// GET as the caller at `address`.
async fn get_as(http: &reqwest::Client, url: &str, address: &str) -> (u16, Option<String>) {
    match http
        .get(url)
        .header("x-forwarded-for", address)
        .header("cf-connecting-ip", address)
        .send()
        .await
    {
        Ok(reply) => (
            reply.status().as_u16(),
            reply
                .headers()
                .get("x-cache")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        ),
        Err(_) => (0, None),
    }
}

/// `shoppers` callers, each reading one record every half second for `secs`: 60 % of reads on
/// the 30 hot records, the rest on the other 170 of records 1-200. Their statuses, counted.
async fn shoppers(base: &str, shoppers: u64, secs: u64) -> BTreeMap<u16, u64> {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..shoppers {
        let (base, http) = (base.to_string(), client());
        tasks.spawn(async move {
            let mut random = Lcg(n + 1);
            let address = format!("198.51.100.{}", n + 1);
            let mut statuses = BTreeMap::new();
            let mut ticks = tokio::time::interval(Duration::from_millis(500));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let end = Instant::now() + Duration::from_secs(secs);
            // Shoppers arrive over the first half second, not all at once.
            tokio::time::sleep(Duration::from_millis(n * 500 / shoppers)).await;
            while Instant::now() < end {
                ticks.tick().await;
                let id = if random.below(100) < 60 {
                    1 + random.below(30)
                } else {
                    31 + random.below(170)
                };
                let (status, _) =
                    get_as(&http, &format!("{base}/v1/store-products/{id}"), &address).await;
                *statuses.entry(status).or_insert(0) += 1;
            }
            statuses
        });
    }
    let mut total = BTreeMap::new();
    for statuses in tasks.join_all().await {
        for (status, n) in statuses {
            *total.entry(status).or_insert(0) += n;
        }
    }
    total
}

/// One caller asking five times a second, half its request limit, for 50 never-seen ids at a
/// time. Its statuses, counted.
async fn abusive(base: &str, secs: u64) -> BTreeMap<u16, u64> {
    let http = client();
    let mut random = Lcg(4242);
    let mut statuses = BTreeMap::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        ticks.tick().await;
        let ids: Vec<String> = (0..50)
            .map(|_| (1_000_000 + random.below(1_000_000_000)).to_string())
            .collect();
        let url = format!("{base}/v1/store-products?ids={}", ids.join(","));
        let (status, _) = get_as(&http, &url, "203.0.113.66").await;
        *statuses.entry(status).or_insert(0) += 1;
    }
    statuses
}

fn share_ok(statuses: &BTreeMap<u16, u64>) -> f64 {
    let all: u64 = statuses.values().sum();
    statuses.get(&200).copied().unwrap_or(0) as f64 / all.max(1) as f64
}

async fn stats(setup: &Setup) -> Value {
    sandbox_stats(&setup.sandbox).await
}

#[tokio::test]
async fn shoppers_alone_are_served() {
    let setup = setup(&[]);
    let statuses = shoppers(&setup.base, 20, load_secs(45)).await;
    let stats = stats(&setup).await;
    println!(
        "shoppers alone: {statuses:?}, {:.2} % 200, portal requests {}",
        share_ok(&statuses) * 100.0,
        stats["requests"]
    );
    assert!(share_ok(&statuses) >= 0.99, "{statuses:?}");
    assert_eq!(stats["queryLimitExceeded"], 0, "{stats}");
}

#[tokio::test]
async fn shoppers_are_served_beside_an_abusive_caller() {
    let setup = setup(&[]);
    let secs = load_secs(45);
    let (statuses, abuse) =
        tokio::join!(shoppers(&setup.base, 20, secs), abusive(&setup.base, secs));
    let stats = stats(&setup).await;
    println!(
        "shoppers beside an abusive caller: {statuses:?}, {:.2} % 200; the caller: {abuse:?}; \
         portal requests {}",
        share_ok(&statuses) * 100.0,
        stats["requests"]
    );
    assert!(share_ok(&statuses) >= 0.99, "{statuses:?}");
    assert_eq!(stats["queryLimitExceeded"], 0, "{stats}");
    assert!(
        abuse.get(&429).copied().unwrap_or(0) > 0,
        "the caller's cold reads were never limited: {abuse:?}"
    );
}

/// Records read steadily are refreshed together, a round in one request: 20 readers over 50
/// records cost at most 10 portal requests a minute once every record has been read (the
/// first reads, spread over the first seconds, are counted and printed apart).
#[tokio::test]
async fn fifty_records_read_steadily_cost_a_few_portal_requests_a_minute() {
    let setup = setup(&[]);
    let secs = load_secs(60);
    let warm_up = Duration::from_secs(10);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20u64 {
        let (base, http) = (setup.base.clone(), client());
        tasks.spawn(async move {
            let mut random = Lcg(n + 100);
            let address = format!("198.51.100.{}", n + 1);
            let mut statuses = BTreeMap::new();
            let mut ticks = tokio::time::interval(Duration::from_millis(500));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let end = Instant::now() + warm_up + Duration::from_secs(secs);
            tokio::time::sleep(Duration::from_millis(n * 25)).await;
            while Instant::now() < end {
                ticks.tick().await;
                let id = 1 + random.below(50);
                let url = format!("{base}/v1/store-products/{id}");
                let (status, _) = get_as(&http, &url, &address).await;
                *statuses.entry(status).or_insert(0u64) += 1;
            }
            statuses
        });
    }
    tokio::time::sleep(warm_up).await;
    let cold = stats(&setup).await["requests"].as_u64().unwrap_or(0);
    let mut statuses = BTreeMap::new();
    for part in tasks.join_all().await {
        for (status, n) in part {
            *statuses.entry(status).or_insert(0) += n;
        }
    }
    let stats = stats(&setup).await;
    let steady = stats["requests"].as_u64().unwrap_or(u64::MAX) - cold;
    let allowed = 10 * secs.div_ceil(60);
    println!(
        "50 records read steadily: {statuses:?}; {cold} portal requests in the first {} s, \
         {steady} in the {secs} s after",
        warm_up.as_secs()
    );
    assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), vec![200]);
    assert!(
        steady <= allowed,
        "{steady} portal requests, want <= {allowed}"
    );
}

/// Ids no record has, asked for in bulk, churn only the room kept for "not found" answers:
/// the hot records stay hits, and their copies still stand in when the portal fails.
#[tokio::test]
async fn a_flood_of_unknown_ids_evicts_no_hot_record() {
    if !local_only() {
        return;
    }
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_CACHE_MAX_ENTRIES", "200"),
            ("STOCK_CACHE_TTL_SECS", "3"),
            ("STOCK_RATE_LIMIT_PER_MIN", "0"),
            ("STOCK_CALLER_PORTAL_WORK_PER_MIN", "0"),
            ("STOCK_PORTAL_RATE_PER_SEC", "1000"),
            ("STOCK_PORTAL_BURST", "100000"),
        ],
    );
    let http = client();
    let hot = (1..=50)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let warm = http
        .get(format!("{}/v1/store-products?ids={hot}", gateway.base))
        .send()
        .await
        .expect("warm");
    assert_eq!(warm.status(), 200);
    let calls_before = sandbox.stats().await["commands"]["catalog.storeproduct.get"]
        .as_u64()
        .unwrap_or(0);
    for round in 0..100u64 {
        let unknown: Vec<String> = (0..50)
            .map(|k| (5_000_000 + round * 50 + k).to_string())
            .collect();
        let reply = http
            .get(format!(
                "{}/v1/store-products?ids={}",
                gateway.base,
                unknown.join(",")
            ))
            .send()
            .await
            .expect("flood");
        assert_eq!(reply.status(), 200);
    }
    let hits = http
        .get(format!("{}/v1/store-products?ids={hot}", gateway.base))
        .send()
        .await
        .expect("hot again");
    assert_eq!(
        hits.headers()["x-cache"],
        "HIT",
        "every hot record still cached"
    );
    let calls_after = sandbox.stats().await["commands"]["catalog.storeproduct.get"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        calls_after - calls_before,
        5_000,
        "only the unknown ids were read"
    );
    // Past their lifetime, with the portal failing: the last good copies stand in.
    sandbox
        .control(serde_json::json!({"fault": "internal_error"}))
        .await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    for id in [1, 25, 50] {
        let reply = http
            .get(format!("{}/v1/store-products/{id}", gateway.base))
            .send()
            .await
            .expect("stale");
        assert_eq!(
            (
                reply.status().as_u16(),
                reply.headers()["x-cache"].to_str().ok()
            ),
            (200, Some("STALE")),
            "record {id}"
        );
    }
}

/// The portal counts operating time per method: a block on `list` pauses product reads only.
#[tokio::test]
async fn an_operating_time_block_on_lists_leaves_record_reads_running() {
    if !local_only() {
        return;
    }
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[]);
    sandbox
        .control(serde_json::json!({"operatingUsedSecs": {"catalog.storeproduct.list": 480}}))
        .await;
    let http = client();
    let product = http
        .get(format!("{}/v1/products/6973/stock", gateway.base))
        .send()
        .await
        .expect("product");
    assert_eq!(product.status(), 503, "the list method is blocked");
    assert!(product.headers().get("retry-after").is_some());
    let lists = sandbox.stats().await["calls"]["catalog.storeproduct.list"]
        .as_u64()
        .unwrap_or(0);
    for id in [13, 14, 15, 16] {
        let record = http
            .get(format!("{}/v1/store-products/{id}", gateway.base))
            .send()
            .await
            .expect("record");
        assert_eq!(record.status(), 200, "record {id} reads on");
    }
    let again = http
        .get(format!("{}/v1/products/7001/stock", gateway.base))
        .send()
        .await
        .expect("product again");
    assert_eq!(again.status(), 503);
    assert_eq!(
        sandbox.stats().await["calls"]["catalog.storeproduct.list"]
            .as_u64()
            .unwrap_or(0),
        lists,
        "no list call while the method is paused"
    );
}

/// Cold reads are counted per caller apart from requests: past its allowance a caller gets
/// 429 with `Retry-After`, while another caller is served, and hits cost nothing.
#[tokio::test]
async fn a_callers_cold_reads_are_limited_apart_from_its_requests() {
    if !local_only() {
        return;
    }
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
            ("STOCK_CALLER_PORTAL_WORK_PER_MIN", "100"),
            ("STOCK_PORTAL_RATE_PER_SEC", "1000"),
            ("STOCK_PORTAL_BURST", "100000"),
        ],
    );
    let http = client();
    let list = |from: u32| {
        let ids: Vec<String> = (from..from + 50).map(|n| n.to_string()).collect();
        format!("{}/v1/store-products?ids={}", gateway.base, ids.join(","))
    };
    assert_eq!(get_as(&http, &list(1), "203.0.113.1").await.0, 200);
    assert_eq!(get_as(&http, &list(51), "203.0.113.1").await.0, 200);
    let refused = http
        .get(list(101))
        .header("x-forwarded-for", "203.0.113.1")
        .send()
        .await
        .expect("over the limit");
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(
        get_as(&http, &list(101), "203.0.113.2").await.0,
        200,
        "another caller is served"
    );
    assert_eq!(
        get_as(&http, &list(1), "203.0.113.1").await,
        (200, Some("HIT".to_string())),
        "hits cost no portal work"
    );
}
