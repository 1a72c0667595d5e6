//! Replicas that share one Redis (`STOCK_SHARED_STATE`): three local gateways, asked in turn
//! like a round-robin load balancer would, in front of the sandbox portal's real bucket, with a
//! real `redis-server` that the tests also kill, restart and put to sleep.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::redis::RedisServer;
use support::{client, spawn_gateway, spawn_sandbox, spawn_sandbox_with, Gateway, Sandbox};

/// Three replicas over `redis`, each told there are three (its share when Redis is away).
fn replicas(sandbox: &Sandbox, redis: &RedisServer, extra: &[(&str, &str)]) -> Vec<Gateway> {
    let url = redis.url();
    let mut envs = vec![
        ("STOCK_SHARED_STATE", url.as_str()),
        ("STOCK_PORTAL_INSTANCES", "3"),
        ("STOCK_METRICS_LISTEN", "127.0.0.1:0"),
        // The tests play many shoppers from one address.
        ("STOCK_RATE_LIMIT_PER_MIN", "0"),
        ("STOCK_CALLER_PORTAL_WORK_PER_MIN", "0"),
    ];
    envs.extend_from_slice(extra);
    (0..3)
        .map(|_| spawn_gateway(&sandbox.webhook(), &envs))
        .collect()
}

/// Sends every `(replica, path)` at once; answers the statuses in order.
async fn read_all(gateways: &[Gateway], paths: Vec<(usize, String)>) -> Vec<(u16, Value)> {
    let client = client();
    let mut reads = tokio::task::JoinSet::new();
    for (n, (replica, path)) in paths.into_iter().enumerate() {
        let url = format!("{}{path}", gateways[replica % gateways.len()].base);
        let client = client.clone();
        reads.spawn(async move {
            let reply = client.get(url).send().await.expect("an answer");
            let status = reply.status().as_u16();
            let body = reply.json::<Value>().await.unwrap_or(Value::Null);
            (n, status, body)
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = reads.join_next().await {
        answers.push(done.expect("a read task"));
    }
    answers.sort_by_key(|(n, _, _)| *n);
    answers.into_iter().map(|(_, s, b)| (s, b)).collect()
}

/// Each id of `ids` once, the replicas taking turns starting at `first`.
fn in_turn(ids: impl IntoIterator<Item = u32>, first: usize) -> Vec<(usize, String)> {
    ids.into_iter()
        .enumerate()
        .map(|(n, id)| (n + first, format!("/v1/store-products/{id}")))
        .collect()
}

/// `/healthz`, checked against the OpenAPI document.
async fn health(gateway: &Gateway) -> Value {
    let reply = client()
        .get(format!("{}/healthz", gateway.base))
        .send()
        .await
        .expect("healthz");
    let (status, headers) = (reply.status().as_u16(), reply.headers().clone());
    let body = reply.text().await.expect("healthz body");
    support::openapi::check(&reqwest::Method::GET, "/healthz", status, &headers, &body);
    serde_json::from_str(&body).expect("healthz JSON")
}

/// A counter of `/metrics` (OpenMetrics text: `name_total value`).
async fn metric(gateway: &Gateway, name: &str) -> f64 {
    let at = support::logged_address(&gateway.log, "metrics at /metrics");
    let text = client()
        .get(format!("http://{at}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            (key == name).then(|| value.parse().ok())?
        })
        .unwrap_or_else(|| panic!("{name} not in the metrics:\n{text}"))
}

async fn portal_requests(sandbox: &Sandbox) -> u64 {
    sandbox.stats().await["requests"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_cold_id_is_read_once_for_all_replicas() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start();
    let gateways = replicas(&sandbox, &redis, &[]);
    // A portal slow enough that every replica asks while the first one's read is under way.
    sandbox
        .control(serde_json::json!({"answerDelayMs": 300}))
        .await;
    let answers = read_all(&gateways, in_turn(std::iter::repeat_n(13, 400), 0)).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    assert!(answers.iter().all(|(_, body)| body["amount"] == 14));
    assert_eq!(sandbox.get_calls(13).await, 1, "record 13 read once");
    // The record and its product's flags in one batch: one request for a cold record,
    // whoever asked.
    assert_eq!(portal_requests(&sandbox).await, 1);

    let products: Vec<(usize, String)> = (0..400)
        .map(|n| (n, "/v1/products/6973/stock".to_string()))
        .collect();
    let answers = read_all(&gateways, products).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    assert_eq!(
        portal_requests(&sandbox).await,
        2,
        "a product's first page and flags ride in one request"
    );

    let mut joined = 0.0;
    for gateway in &gateways {
        joined += metric(gateway, "b24_gateway_shared_flights_joined_total").await;
        assert_eq!(metric(gateway, "b24_gateway_shared_state_up").await, 1.0);
        let health = health(gateway).await;
        assert_eq!(health["sharedState"]["reachable"], true, "{health}");
        assert_eq!(health["status"], "ok");
    }
    assert!(
        joined >= 2.0,
        "the other replicas joined the first one's reads: {joined}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn distinct_cold_ids_spend_one_budget_and_are_read_once() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start();
    let gateways = replicas(&sandbox, &redis, &[]);
    let answers = read_all(&gateways, in_turn(1..=300, 0)).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{:?}",
        answers.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
    let stats = sandbox.stats().await;
    let requests = stats["requests"].as_u64().unwrap_or(0);
    println!("300 distinct cold records over 3 replicas: {requests} portal requests");
    assert_eq!(stats["queryLimitExceeded"], 0, "the portal never refused");
    // 300 records and their 300 products' flags are 600 commands: 12 full batches at best,
    // and each replica's first miss goes alone, with its flags (18 to 25 seen on 2 cores, more
    // partial batches when the machine is busy and the misses arrive spread out).
    assert!(requests <= 40, "{requests} portal requests");

    // Each replica now answers every id from the shared cache: no id is read again.
    for first in [1, 2] {
        let answers = read_all(&gateways, in_turn(1..=300, first)).await;
        assert!(answers.iter().all(|(status, _)| *status == 200));
    }
    assert_eq!(portal_requests(&sandbox).await, requests);
    let calls = &sandbox.stats().await["getCallsById"];
    for id in 1..=300 {
        assert_eq!(calls[id.to_string()], 1, "record {id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_cold_ids_never_pushes_the_portal_past_its_limit() {
    // 1,500 distinct ids at once: 60 requests' worth for three replicas, more than the
    // portal's burst of 50. Alone, each replica would spend a whole share of its own.
    let sandbox = spawn_sandbox_with(2.0, 50.0, 2000);
    let redis = RedisServer::start();
    let gateways = replicas(&sandbox, &redis, &[("STOCK_PORTAL_INSTANCES", "1")]);
    let answers = read_all(&gateways, in_turn(3001..=4500, 0)).await;
    let mut busy = 0;
    for (status, body) in &answers {
        match status {
            // Some generated ids have no record: a command all the same.
            200 | 404 => {}
            503 => {
                assert_eq!(body["error"]["code"], "upstream_busy", "{body}");
                busy += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    let stats = sandbox.stats().await;
    println!(
        "1,500 cold ids: {} portal requests, {busy} answered upstream_busy",
        stats["requests"]
    );
    assert_eq!(stats["queryLimitExceeded"], 0, "the portal never refused");
    let mut waits = 0.0;
    for gateway in &gateways {
        waits += metric(gateway, "b24_gateway_shared_budget_waits_total").await;
    }
    assert!(
        waits >= 1.0,
        "requests waited for the shared budget: {waits}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mirror_sweeps_once_per_interval_for_the_deployment() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start();
    let mirror = [
        ("STOCK_SOURCE", "mirror"),
        ("STOCK_MIRROR_INTERVAL_SECS", "5"),
    ];
    let mut gateways = replicas(&sandbox, &redis, &mirror);
    tokio::time::sleep(Duration::from_millis(11_500)).await;
    let mut sweeps = Vec::new();
    for gateway in &gateways {
        let health = health(gateway).await;
        assert_eq!(health["serving"], "mirror", "{health}");
        sweeps.push(health["mirror"]["sweeps"].as_u64().unwrap_or(0));
    }
    let total: u64 = sweeps.iter().sum();
    assert!((2..=3).contains(&total), "sweeps {sweeps:?}");
    assert_eq!(
        sweeps.iter().filter(|s| **s > 0).count(),
        1,
        "one replica sweeps: {sweeps:?}"
    );
    // Every replica answers from the table, read or not.
    let answers = read_all(&gateways, in_turn([13, 13, 13], 0)).await;
    assert!(answers
        .iter()
        .all(|(status, body)| *status == 200 && body["amount"] == 14));

    // The sweeper goes away: another takes its lease over once it lapses.
    let sweeper = sweeps.iter().position(|s| *s > 0).unwrap_or(0);
    gateways.remove(sweeper);
    let started = Instant::now();
    loop {
        let mut took_over = false;
        for gateway in &gateways {
            took_over |= health(gateway).await["mirror"]["sweeps"].as_u64() > Some(0);
        }
        if took_over {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no replica took the sweeps over"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_fall_back_when_redis_goes_away_and_rejoin_when_it_returns() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start();
    let port = redis.port;
    let gateways = replicas(&sandbox, &redis, &[]);
    let answers = read_all(&gateways, in_turn(1..=30, 0)).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));

    drop(redis);
    let answers = read_all(&gateways, in_turn(31..=130, 0)).await;
    for (status, body) in &answers {
        assert!(
            *status == 200 || (*status == 503 && body["error"]["code"] == "upstream_busy"),
            "{status}: {body}"
        );
    }
    for gateway in &gateways {
        let health = health(gateway).await;
        assert_eq!(health["status"], "degraded", "{health}");
        assert_eq!(health["sharedState"]["reachable"], false, "{health}");
        assert_eq!(health["sharedState"]["fallbacks"], 1, "{health}");
    }
    let logs: String = gateways
        .iter()
        .map(|g| std::fs::read_to_string(&g.log).unwrap_or_default())
        .collect();
    assert_eq!(
        logs.matches("shared state unreachable").count(),
        3,
        "logged once per replica"
    );
    assert!(
        !logs.contains(&format!(":{port}")),
        "the store's address is never logged"
    );

    let redis = RedisServer::start_on(port);
    let started = Instant::now();
    for gateway in &gateways {
        while health(gateway).await["sharedState"]["reachable"] != true {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "a replica did not rejoin"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Rejoined: one read per id again, whichever replica is asked.
    let answers = read_all(&gateways, in_turn(std::iter::repeat_n(250, 90), 0)).await;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    assert_eq!(sandbox.get_calls(250).await, 1);
    drop(redis);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_redis_costs_callers_no_more_than_its_deadline() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start();
    let gateways = replicas(
        &sandbox,
        &redis,
        &[("STOCK_SHARED_STATE_TIMEOUT_MS", "100")],
    );
    let asleep = redis.sleep_for(3.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let answers = read_all(&gateways, in_turn(1..=60, 0)).await;
    let took = started.elapsed();
    assert!(answers.iter().all(|(status, _)| *status == 200));
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let health = health(&gateways[0]).await;
    assert_eq!(health["sharedState"]["reachable"], false, "{health}");
    asleep.join().expect("DEBUG SLEEP");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hot_id_is_read_once_a_lifetime_for_all_replicas() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start();
    let gateways = replicas(&sandbox, &redis, &[("STOCK_CACHE_TTL_SECS", "4")]);
    // Shoppers on every replica, all the time: each replica's copy nears its end and asks
    // for a refresh, but one refresh serves them all.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(12) {
        let answers = read_all(&gateways, in_turn([20, 20, 20], 0)).await;
        assert!(answers.iter().all(|(status, _)| *status == 200));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reads = sandbox.get_calls(20).await;
    println!("record 20 read {reads} times in 12 s by 3 replicas (4 s lifetime)");
    assert!((3..=5).contains(&reads), "{reads} reads");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_that_never_read_an_id_stands_in_with_anothers_answer_while_the_portal_fails() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start();
    let gateways = replicas(&sandbox, &redis, &[("STOCK_CACHE_TTL_SECS", "1")]);
    let first = read_all(&gateways, vec![(0, "/v1/store-products/25".into())]).await;
    assert_eq!(first[0].0, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    sandbox
        .control(serde_json::json!({"fault": "internal_error"}))
        .await;
    // Past its life, the portal failing: the replica that never read it serves the first
    // one's answer, as stale, inside the stale window.
    let reply = client()
        .get(format!("{}/v1/store-products/25", gateways[1].base))
        .send()
        .await
        .expect("an answer");
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers().get("x-cache").and_then(|v| v.to_str().ok()),
        Some("STALE")
    );
    let body: Value = reply.json().await.expect("JSON");
    assert_eq!(body["id"], 25);
    sandbox.control(serde_json::json!({"fault": null})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_reported_and_never_logged() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start_with("--requirepass right-one");
    let url = format!("redis://:wrong-one@127.0.0.1:{}", redis.port);
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_SHARED_STATE", url.as_str())]);
    let answers = read_all(std::slice::from_ref(&gateway), in_turn([13], 0)).await;
    assert_eq!(answers[0].0, 200, "served alone");
    let health = health(&gateway).await;
    assert_eq!(health["sharedState"]["reachable"], false, "{health}");
    let log = std::fs::read_to_string(&gateway.log).unwrap_or_default();
    let warning = log
        .lines()
        .find(|l| l.contains("shared state unreachable"))
        .unwrap_or_else(|| panic!("no warning:\n{log}"));
    assert!(
        warning.contains(r#""problem":"authentication""#),
        "{warning}"
    );
    assert!(!log.contains("wrong-one"), "the password is never logged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_that_goes_away_mid_read_leaves_no_claim_behind() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = RedisServer::start();
    let gateways = replicas(&sandbox, &redis, &[]);
    sandbox
        .control(serde_json::json!({"answerDelayMs": 1000}))
        .await;
    // A caller on the first replica gives up while its read is under way: the replica drops
    // the request, and with it its claim on the id.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let gone = impatient
        .get(format!("{}/v1/store-products/40", gateways[0].base))
        .send()
        .await;
    assert!(gone.is_err(), "gave up");
    // Another replica asked now reads the id itself, within its deadline (3 s), instead of
    // waiting for a claim nobody will answer (504 when the claim is left to lapse).
    let answers = read_all(&gateways, vec![(1, "/v1/store-products/40".into())]).await;
    assert_eq!(answers[0].0, 200, "{:?}", answers[0].1);
}
