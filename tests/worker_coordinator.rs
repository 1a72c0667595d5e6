//! The portal coordinator under `wrangler dev`: two gateway Workers (two isolates) behind a
//! test-only router, one sandbox with the portal's real bucket. Run by
//! `scripts/test-worker-coordinator.sh`, which starts a fresh session for each test and passes
//! `COORD_BASE_URL` (the router) and `COORD_SANDBOX_URL`; ignored in a plain `cargo test`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::client;

struct Session {
    base: String,
    sandbox: String,
    http: reqwest::Client,
}

fn session() -> Session {
    let var = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is set by scripts/test-worker-coordinator.sh"))
    };
    Session {
        base: var("COORD_BASE_URL"),
        sandbox: var("COORD_SANDBOX_URL"),
        http: client(),
    }
}

impl Session {
    /// GET through the router; `gateway` picks a Worker ("a" or "b"), else they alternate.
    async fn get(&self, path: &str, gateway: Option<&str>) -> u16 {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(gateway) = gateway {
            request = request.header("x-gateway", gateway);
        }
        request
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    async fn stats(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/_sandbox/stats", self.sandbox))
            .send()
            .await
            .expect("sandbox stats")
            .json()
            .await
            .expect("sandbox stats JSON")
    }

    /// Every id of `ids` at once, alternating between the Workers; statuses counted.
    async fn burst(&self, ids: impl Iterator<Item = u32>) -> BTreeMap<u16, usize> {
        let mut tasks = tokio::task::JoinSet::new();
        for id in ids {
            let (http, url) = (
                self.http.clone(),
                format!("{}/v1/store-products/{id}", self.base),
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
}

#[tokio::test]
#[ignore]
async fn one_cold_id_split_across_isolates_is_read_once() {
    let s = session();
    let statuses = s.burst(std::iter::repeat_n(42, 400)).await;
    assert_eq!(statuses.get(&200), Some(&400), "{statuses:?}");
    let stats = s.stats().await;
    assert_eq!(stats["getCallsById"]["42"], 1, "{stats}");
    // The record, its product's flags and the inventory mode: one portal request.
    assert_eq!(stats["requests"], 1, "{stats}");
}

#[tokio::test]
#[ignore]
async fn a_burst_split_across_isolates_stays_within_the_budget() {
    let s = session();
    let statuses = s.burst(1..=300).await;
    let answered: usize = [200, 404].iter().filter_map(|c| statuses.get(c)).sum();
    let stats = s.stats().await;
    println!(
        "coordinator on: {statuses:?}, {} portal requests",
        stats["requests"]
    );
    assert!(answered >= 297, "{statuses:?}");
    assert_eq!(stats["queryLimitExceeded"], 0, "{stats}");
}

/// 80 lists of 50 distinct ids at once, alternating between the Workers: 80 full batches.
/// Statuses counted, and the ids answered (found or not found, not `unavailable`).
async fn full_batches(s: &Session) -> (BTreeMap<u16, usize>, usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..80u32 {
        let ids: Vec<String> = (n * 50 + 1..=n * 50 + 50)
            .map(|id| (10_000 + id).to_string())
            .collect();
        let gateway = if n % 2 == 0 { "a" } else { "b" };
        let request = s
            .http
            .get(format!(
                "{}/v1/store-products?ids={}",
                s.base,
                ids.join(",")
            ))
            .header("x-gateway", gateway);
        tasks.spawn(async move {
            let Ok(reply) = request.send().await else {
                return (0, 0);
            };
            let status = reply.status().as_u16();
            let body: serde_json::Value = reply.json().await.unwrap_or_default();
            let count = |list: &str| body[list].as_array().map_or(0, Vec::len);
            (status, count("items") + count("notFound"))
        });
    }
    let mut statuses = BTreeMap::new();
    let mut answered = 0;
    for (status, ids) in tasks.join_all().await {
        *statuses.entry(status).or_insert(0) += 1;
        answered += ids;
    }
    (statuses, answered)
}

/// No coordinator: each isolate spends its own 0.8 share (burst 40), and full batches may use
/// the burst, so 80 of them between two isolates go past the portal's 50.
#[tokio::test]
#[ignore]
async fn without_a_coordinator_two_isolates_overspend() {
    let s = session();
    let (statuses, answered) = full_batches(&s).await;
    let stats = s.stats().await;
    println!(
        "coordinator off: {statuses:?}, {answered} ids answered, {} portal requests",
        stats["requests"]
    );
    assert!(
        stats["queryLimitExceeded"].as_u64().unwrap_or(0) > 0,
        "the portal never refused: the test cannot see over-spending: {stats}"
    );
}

#[tokio::test]
#[ignore]
async fn with_a_coordinator_the_same_traffic_never_overspends() {
    let s = session();
    let (statuses, answered) = full_batches(&s).await;
    let stats = s.stats().await;
    println!(
        "coordinator on, no window: {statuses:?}, {answered} ids answered, {} portal requests",
        stats["requests"]
    );
    assert_eq!(stats["queryLimitExceeded"], 0, "{stats}");
    assert!(
        statuses.keys().all(|c| [200, 404, 503].contains(c)),
        "{statuses:?}"
    );
    // Not by refusing everything: the budget's burst and pace carry at least 20 full batches.
    assert!(answered >= 1_000, "only {answered} of 4,000 ids answered");
}

/// gateway-b's binding points at no Worker: b keeps answering on its fallback share (0.1 of
/// the plan: a burst of 5 portal requests, then 0.2/s), and says so in its log.
#[tokio::test]
#[ignore]
async fn an_unreachable_coordinator_leaves_a_small_share() {
    let s = session();
    let mut statuses = Vec::new();
    for id in 1..=20u32 {
        statuses.push(s.get(&format!("/v1/store-products/{id}"), Some("b")).await);
    }
    let served = statuses.iter().filter(|c| [200, 404].contains(*c)).count();
    println!("coordinator unreachable: {statuses:?}");
    assert!((3..=7).contains(&served), "{statuses:?}");
    assert!(
        statuses.iter().all(|c| [200, 404, 503].contains(c)),
        "{statuses:?}"
    );
    assert!(s.stats().await["requests"].as_u64().unwrap_or(0) <= 7);
}

/// Both Workers cut off from the coordinator: each has a fallback share of its own (a burst of
/// 5), but every portal read also takes from the deployment's one allowance (4 a minute here),
/// so together they spend no more than it.
#[tokio::test]
#[ignore]
async fn cut_off_isolates_together_spend_one_fallback_allowance() {
    let s = session();
    let mut statuses = Vec::new();
    for id in 1..=20u32 {
        let gateway = if id % 2 == 0 { "a" } else { "b" };
        statuses.push(
            s.get(&format!("/v1/store-products/{id}"), Some(gateway))
                .await,
        );
    }
    let served = statuses.iter().filter(|c| [200, 404].contains(*c)).count();
    println!("both coordinators unreachable: {statuses:?}");
    assert!((2..=4).contains(&served), "{statuses:?}");
    assert!(
        statuses.iter().all(|c| [200, 404, 503].contains(c)),
        "{statuses:?}"
    );
    assert!(s.stats().await["requests"].as_u64().unwrap_or(u64::MAX) <= 4);
}

/// Mirror mode on both Workers: one object sweeps for the deployment, both read its table.
#[tokio::test]
#[ignore]
async fn two_workers_share_one_sweep() {
    let s = session();
    let health = |gateway: &'static str| {
        let (http, url) = (s.http.clone(), format!("{}/healthz", s.base));
        async move {
            http.get(url)
                .header("x-gateway", gateway)
                .send()
                .await
                .expect("healthz")
                .json::<serde_json::Value>()
                .await
                .expect("healthz JSON")
        }
    };
    let started = Instant::now();
    while health("a").await["serving"] != "mirror" {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no table within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Two more intervals (5 s each): sweeps run on the object's alarm, not per Worker.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let (a, b) = (health("a").await, health("b").await);
    println!("mirror: a {a}, b {b}");
    assert_eq!(b["serving"], "mirror", "{b}");
    let sweeps = a["mirror"]["sweeps"].as_u64().unwrap_or(0);
    assert!((2..=4).contains(&sweeps), "one sweep per interval: {a}");
    assert!(
        b["mirror"]["sweeps"].as_u64().unwrap_or(0).abs_diff(sweeps) <= 1,
        "the same object: {b}"
    );
    let before = s.stats().await["requests"].as_u64().unwrap_or(0);
    // A sweep of the sandbox is 2 requests (where the ids end and begin, then one batch); the
    // first also reads the products' flags (one product on its own and one list for each of
    // the sandbox's two catalogs), which later sweeps carry over.
    assert!(
        before <= 2 * (sweeps + 1) + 4,
        "{before} portal requests for {sweeps} sweeps"
    );
    for id in 1..=40u32 {
        let gateway = if id % 2 == 0 { "a" } else { "b" };
        assert!([200, 404].contains(
            &s.get(&format!("/v1/store-products/{id}"), Some(gateway))
                .await
        ));
    }
    let after = s.stats().await["requests"].as_u64().unwrap_or(0);
    assert!(
        after - before <= 2,
        "reads reached the portal: {before} -> {after}"
    );
}

/// Sequential cold misses through gateway-a (coordinator) and gateway-b (its own budget),
/// interleaved so both see the same machine load: the object's extra cost per miss.
#[tokio::test]
#[ignore]
async fn a_miss_through_the_coordinator_next_to_one_without() {
    let s = session();
    // Warm both Workers (and the object) first.
    s.get("/v1/store-products/1", Some("a")).await;
    s.get("/v1/store-products/2", Some("b")).await;
    let (mut through, mut without) = (Vec::new(), Vec::new());
    for n in 0..40u32 {
        for (gateway, times) in [("a", &mut through), ("b", &mut without)] {
            let id = 100 + n * 2 + u32::from(gateway == "b");
            let started = Instant::now();
            assert_eq!(
                s.get(&format!("/v1/store-products/{id}"), Some(gateway))
                    .await,
                200
            );
            times.push(started.elapsed());
        }
        // Stay inside the portal's budget: this measures latency, not the limiter.
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (a, b) = (median(&mut through), median(&mut without));
    println!(
        "miss latency under wrangler dev (median of 40): through the coordinator {:.1} ms, \
         without {:.1} ms, extra {:.1} ms",
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        (a.as_secs_f64() - b.as_secs_f64()) * 1e3
    );
    assert!(
        a < Duration::from_secs(1),
        "a miss through the object took {a:?}"
    );
}
