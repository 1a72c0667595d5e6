//! What only the Worker has, under `wrangler dev`: polling waiters, the Cache API, the
//! `[[ratelimits]]` binding, the answer to a broken configuration, the refresh through
//! `ctx.wait_until`, and metrics as log lines. `scripts/test-worker.sh` starts a `wrangler dev`
//! session for each test with the settings it needs, and passes `WORKER_BASE_URL`,
//! `WORKER_SANDBOX_URL` and `WORKER_LOG_FILE`; ignored in a plain `cargo test`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{client, sandbox_stats};

struct Session {
    base: String,
    sandbox: String,
    log: std::path::PathBuf,
    http: reqwest::Client,
}

fn session() -> Session {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/test-worker.sh"))
    };
    Session {
        base: var("WORKER_BASE_URL"),
        sandbox: var("WORKER_SANDBOX_URL"),
        log: var("WORKER_LOG_FILE").into(),
        http: client(),
    }
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Session {
    async fn get(&self, path: &str) -> Reply {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the Worker answers");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap_or_default(),
        }
    }

    /// A GET as a caller whose `CF-Connecting-IP` is `caller` (`wrangler dev` passes it on).
    async fn get_as(&self, path: &str, caller: &str) -> u16 {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cf-connecting-ip", caller)
            .send()
            .await
            .expect("the Worker answers")
            .status()
            .as_u16()
    }

    async fn get_calls(&self, id: u32) -> u64 {
        sandbox_stats(&self.sandbox).await["getCallsById"][id.to_string()]
            .as_u64()
            .unwrap_or(0)
    }

    /// The Worker's log so far, waiting up to 3 s for a line that `wanted` accepts.
    async fn log_line(&self, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| wanted(l)) {
                return Some(line.to_string());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

/// Twelve requests for `id` at once; their statuses counted.
async fn twelve_at_once(session: &Session, id: u32) -> BTreeMap<u16, usize> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (http, url) = (
            session.http.clone(),
            format!("{}/v1/store-products/{id}", session.base),
        );
        tasks.spawn(async move {
            http.get(url)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
    }
    let mut statuses = BTreeMap::new();
    for status in tasks.join_all().await {
        *statuses.entry(status).or_insert(0) += 1;
    }
    statuses
}

/// Concurrent misses for one id share one portal call, and each request still answers from
/// its own context (waiters poll on their own timers): a slow portal (990001: 504 after the
/// 1 s deadline) and a normal record.
#[tokio::test]
#[ignore = "run by scripts/test-worker.sh under wrangler dev"]
async fn concurrent_misses_for_one_id_all_answer_from_one_portal_call() {
    let session = session();
    let (slow, normal) = tokio::join!(
        twelve_at_once(&session, 990001),
        twelve_at_once(&session, 276)
    );
    assert_eq!(slow, BTreeMap::from([(504, 12)]), "the slow portal");
    assert_eq!(normal, BTreeMap::from([(200, 12)]), "a normal record");
    assert_eq!(
        session.get_calls(276).await,
        1,
        "one portal call for twelve misses"
    );
}

/// With no isolate cache (`STOCK_CACHE_MAX_ENTRIES=0`) a repeat can only come from the Cache
/// API; the binding's limit is 3 a minute, and counts `/healthz` like any request.
#[tokio::test]
#[ignore = "run by scripts/test-worker.sh under wrangler dev"]
async fn the_cache_api_serves_a_repeat_and_the_binding_limits_callers() {
    let session = session();
    let calls_before = session.get_calls(13).await;
    let first = session.get("/v1/store-products/13").await;
    assert_eq!((first.status, first.header("x-cache")), (200, Some("MISS")));
    let second = session.get("/v1/store-products/13").await;
    assert_eq!(
        (second.status, second.header("x-cache")),
        (200, Some("HIT")),
        "from the Cache API"
    );
    assert!(
        second
            .header("age")
            .is_some_and(|a| a.parse::<u64>().is_ok()),
        "an Age header"
    );
    // The script's readiness probe of /healthz counted too: this caller has had three. The
    // binding counts in fixed minutes: if one turned meanwhile, the count started again, and
    // the third request of the new minute is the last to pass.
    let mut refused = session.get("/v1/store-products/13").await;
    for _ in 0..3 {
        if refused.status == 429 {
            break;
        }
        refused = session.get("/v1/store-products/13").await;
    }
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("60"));
    // The gateway's own answers are counted like reads.
    let health = session.get("/healthz").await;
    assert_eq!(health.status, 429, "{}", health.body);
    assert_eq!(
        session.get_calls(13).await - calls_before,
        1,
        "one portal call for the miss"
    );
}

/// A request whose `CF-Connecting-IP` names no address (here: anything that is not one) is not
/// let through unlimited: all such requests share one allowance. The session has no binding
/// and an in-process limit of 2 a minute.
#[tokio::test]
#[ignore = "run by scripts/test-worker.sh under wrangler dev"]
async fn requests_without_a_caller_address_share_one_allowance() {
    let session = session();
    let mut statuses = Vec::new();
    for unnamed in ["unknown", "not-an-address", "999.1.1.1"] {
        statuses.push(session.get_as("/v1/store-products/13", unnamed).await);
    }
    assert_eq!(statuses, [200, 200, 429], "one allowance for all of them");
    assert_eq!(
        session
            .get_as("/v1/store-products/13", "198.51.100.7")
            .await,
        200,
        "a named caller has its own"
    );
}

/// A configuration the gateway cannot run with answers 500 `misconfigured` to every request,
/// and one error line names the variable (never a value).
async fn misconfigured_names(session: &Session, variable: &str) {
    let reply = session.get("/v1/store-products/13").await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    let body: Value = serde_json::from_str(&reply.body).expect("a JSON body");
    assert_eq!(body["error"]["code"], "misconfigured");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let line = session
        .log_line(|l| l.contains("configuration problem") && l.contains(variable))
        .await;
    assert!(line.is_some(), "no error line naming {variable}");
}

#[tokio::test]
#[ignore = "run by scripts/test-worker.sh under wrangler dev"]
async fn a_missing_secret_is_a_500_and_a_json_error_line() {
    let session = session();
    misconfigured_names(&session, "B24_WEBHOOK_URL").await;
    // STOCK_LOG_FORMAT=json in this session: the line is one JSON object at error level.
    let line = session
        .log_line(|l| l.contains("configuration problem"))
        .await
        .expect("the error line");
    // (wrangler wraps error lines in terminal colours: the object is what the braces hold.)
    let (start, end) = (
        line.find('{').expect("JSON"),
        line.rfind('}').expect("JSON"),
    );
    let object: Value = serde_json::from_str(&line[start..=end]).expect("the line is JSON");
    assert_eq!(object["level"], "ERROR");
    assert_eq!(object["variable"], "B24_WEBHOOK_URL");
}

#[tokio::test]
#[ignore = "run by scripts/test-worker.sh under wrangler dev"]
async fn log_settings_the_native_adapters_refuse_are_refused_too() {
    let session = session();
    misconfigured_names(&session, "variable=STOCK_LOG_FORMAT").await;
}

#[tokio::test]
#[ignore = "run by scripts/test-worker.sh under wrangler dev"]
async fn a_misspelt_variable_is_refused_naming_the_closest_known_one() {
    let session = session();
    misconfigured_names(&session, "STOCK_ALLOWED_STORE").await;
    let line = session
        .log_line(|l| l.contains("configuration problem"))
        .await
        .expect("the error line");
    assert!(line.contains("STOCK_ALLOWED_STORES"), "{line}");
}

/// A hit past 80 % of the TTL (2 s here) is answered at once and read again through
/// `ctx.wait_until`, so the next read still hits.
#[tokio::test]
#[ignore = "run by scripts/test-worker.sh under wrangler dev"]
async fn a_hit_near_its_end_is_refreshed_through_wait_until() {
    let session = session();
    let id = 299;
    assert_eq!(
        session
            .get(&format!("/v1/store-products/{id}"))
            .await
            .header("x-cache"),
        Some("MISS")
    );
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let near_end = session.get(&format!("/v1/store-products/{id}")).await;
    assert_eq!(near_end.header("x-cache"), Some("HIT"));
    let started = Instant::now();
    while session.get_calls(id).await < 2 && started.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(session.get_calls(id).await, 2, "read again after answering");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = session.get(&format!("/v1/store-products/{id}")).await;
    assert_eq!(
        after.header("x-cache"),
        Some("HIT"),
        "the refreshed answer is served"
    );
}

/// After a burst (`tests/storefront_burst.rs`, same session), the isolates' metrics lines
/// count its record requests, and the coordinator's count portal requests.
#[tokio::test]
#[ignore = "run by scripts/test-worker.sh under wrangler dev"]
async fn metrics_are_logged_as_json_lines() {
    let session = session();
    let text = std::fs::read_to_string(&session.log).expect("the Worker's log");
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| l.contains(r#""message":"metrics""#))
        .filter_map(|l| serde_json::from_str(&l[l.find('{')?..=l.rfind('}')?]).ok())
        .collect();
    let requests: u64 = lines
        .iter()
        .flat_map(|line| line["requests"].as_object().into_iter().flatten())
        .filter(|(key, _)| key.starts_with("v1.store_product "))
        .filter_map(|(_, n)| n.as_u64())
        .sum();
    let portal: u64 = lines
        .iter()
        .filter_map(|line| line["portal_requests"].as_u64())
        .sum();
    assert!(
        requests >= 250,
        "the metrics lines count {requests} record requests"
    );
    assert!(portal >= 1, "no metrics line counts portal requests");
    assert!(lines
        .iter()
        .all(|line| line.get("cache").is_some() && line.get("portal_exchanges").is_some()));
}
