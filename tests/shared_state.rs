//! The ports a Redis server fills for replicas (`native::shared`), each against its written
//! contract in `core/ports.rs`, with a real `redis-server` on loopback: the shared budget's
//! leaky bucket, operating-time pauses, claims, the sweeper's lease and the table.

mod support;

use std::time::Duration;

use b24_stock_gateway::core::config::Settings;
use b24_stock_gateway::core::domain::id::RecordId;
use b24_stock_gateway::core::domain::webhook::WebhookUrl;
use b24_stock_gateway::core::ports::{CacheKey, SharedBudget, SharedCache, SweepLease, TableStore};
use b24_stock_gateway::native::shared::{SharedLink, SharedState};
use bytes::Bytes;
use support::redis::RedisServer;

/// One replica over `redis` whose deployment may spend `rate`/s with a burst of `burst`.
fn replica(redis: &RedisServer, rate: &str, burst: &str) -> SharedState {
    let url = redis.url();
    let vars = [
        ("STOCK_SHARED_STATE", url.as_str()),
        ("STOCK_PORTAL_RATE_PER_SEC", rate),
        ("STOCK_PORTAL_BURST", burst),
        ("STOCK_PORTAL_BUDGET_SHARE", "1"),
        ("STOCK_STALE_IF_ERROR_SECS", "1"),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let settings = Settings::from_lookup(lookup).expect("settings");
    let link = SharedLink::from_lookup(lookup).expect("link");
    let webhook = WebhookUrl::parse("https://shop.example/rest/1/abc123/").expect("webhook");
    SharedState::new(&link, &settings, &webhook)
}

#[tokio::test]
async fn the_budget_hands_out_its_burst_then_its_rate_to_every_replica_together() {
    let redis = RedisServer::start();
    let (a, b) = (replica(&redis, "2", "10"), replica(&redis, "2", "10"));
    let mut at_once = 0;
    for n in 0..20 {
        let replica = if n % 2 == 0 { &a } else { &b };
        let slot = replica
            .take(Duration::ZERO)
            .await
            .expect("a slot or a refusal");
        if slot.slot == Ok(Duration::ZERO) {
            at_once += 1;
        } else {
            let retry = slot.slot.expect_err("refused, not queued: no wait allowed");
            assert!(
                retry > Duration::ZERO && retry <= Duration::from_millis(600),
                "{retry:?}"
            );
        }
    }
    assert_eq!(at_once, 10, "the burst, across both replicas");
    // A wait of a second takes a slot that frees up within it, and queues the next behind.
    let first = a.take(Duration::from_secs(1)).await.expect("slot").slot;
    let second = b.take(Duration::from_secs(1)).await.expect("slot").slot;
    let (first, second) = (first.expect("queued"), second.expect("queued"));
    assert!(
        first > Duration::ZERO && second > first,
        "{first:?} then {second:?}"
    );
    let level = a.take(Duration::ZERO).await.expect("slot").level;
    assert!(
        level >= 11.0,
        "the bucket holds every replica's slots: {level}"
    );
}

#[tokio::test]
async fn a_pause_one_replica_learns_reaches_the_others() {
    let redis = RedisServer::start();
    let (a, b) = (replica(&redis, "2", "50"), replica(&redis, "2", "50"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    a.pause("catalog.storeproduct.list", now + Duration::from_secs(120))
        .await;
    let slot = b.take(Duration::ZERO).await.expect("slot");
    assert_eq!(slot.pauses.len(), 1, "{:?}", slot.pauses);
    assert_eq!(slot.pauses[0].0, "catalog.storeproduct.list");
    assert!(slot.pauses[0].1 > now + Duration::from_secs(100));
    // A pause that has ended is forgotten.
    a.pause("catalog.product.get", now - Duration::from_secs(5))
        .await;
    assert_eq!(b.take(Duration::ZERO).await.expect("slot").pauses.len(), 1);
}

#[tokio::test]
async fn one_claim_per_id_until_given_up_or_answered() {
    let redis = RedisServer::start();
    let (a, b) = (replica(&redis, "2", "50"), replica(&redis, "2", "50"));
    let key = CacheKey::Record(RecordId::parse("13").expect("an id"));
    let hold = Duration::from_secs(5);
    assert!(a.claim(key, hold).await, "the first claims");
    assert!(!b.claim(key, hold).await, "the second waits");
    b.release(key).await;
    assert!(
        !b.claim(key, hold).await,
        "only the holder gives a claim up"
    );
    a.put(key, Bytes::from_static(b"{}"), Duration::from_secs(30))
        .await;
    a.release(key).await;
    assert!(
        !b.claim(key, hold).await,
        "answered meanwhile: nothing to read"
    );
    let (bytes, age) = b.get(key).await.expect("the answer");
    assert_eq!(&bytes[..], b"{}");
    assert!(age < Duration::from_secs(2));
    // A claim whose holder went away lapses.
    let other = CacheKey::Record(RecordId::parse("14").expect("an id"));
    assert!(a.claim(other, Duration::from_millis(150)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(b.claim(other, hold).await, "lapsed");
}

#[tokio::test]
async fn answers_are_kept_for_their_life_and_say_their_age() {
    let redis = RedisServer::start();
    let (a, b) = (replica(&redis, "2", "50"), replica(&redis, "2", "50"));
    let key = CacheKey::Record(RecordId::parse("7").expect("an id"));
    a.put(
        key,
        Bytes::from_static(b"seven"),
        Duration::from_millis(400),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (_, age) = b.get(key).await.expect("fresh");
    assert!(
        age >= Duration::from_millis(100) && age < Duration::from_millis(400),
        "{age:?}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(b.get(key).await.is_none(), "past its life");
    // Kept for the stale window (1 s here): a stand-in while the portal fails, which does not
    // keep anyone from reading it again.
    let (bytes, age) = b.get_stale(key).await.expect("inside the stale window");
    assert_eq!(&bytes[..], b"seven");
    assert!(age >= Duration::from_millis(500), "{age:?}");
    assert!(
        b.claim(key, Duration::from_secs(1)).await,
        "a stale answer is no answer"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(b.get_stale(key).await.is_none(), "past the stale window");
}

#[tokio::test]
async fn one_sweeper_holds_the_lease_until_it_lapses() {
    let redis = RedisServer::start();
    let (a, b) = (replica(&redis, "2", "50"), replica(&redis, "2", "50"));
    let hold = Duration::from_millis(300);
    assert_eq!(a.hold(hold).await, Ok(true));
    assert_eq!(b.hold(hold).await, Ok(false));
    assert_eq!(a.hold(hold).await, Ok(true), "renewed");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(b.hold(hold).await, Ok(true), "taken over once lapsed");
    assert_eq!(a.hold(hold).await, Ok(false));
}

#[tokio::test]
async fn the_table_is_loaded_only_when_it_changed() {
    let redis = RedisServer::start();
    let (a, b) = (replica(&redis, "2", "50"), replica(&redis, "2", "50"));
    assert_eq!(b.load(None).await, Ok(None), "nothing stored yet");
    a.save(Bytes::from_static(b"table one"))
        .await
        .expect("saved");
    let (table, version) = b.load(None).await.expect("loaded").expect("a table");
    assert_eq!(&table[..], b"table one");
    assert_eq!(b.load(Some(&version)).await, Ok(None), "unchanged");
    a.save(Bytes::from_static(b"table two"))
        .await
        .expect("saved");
    let (table, newer) = b
        .load(Some(&version))
        .await
        .expect("loaded")
        .expect("newer");
    assert_eq!(&table[..], b"table two");
    assert_ne!(newer, version);
}

#[tokio::test]
async fn without_a_store_every_port_answers_as_a_lone_instance() {
    let lone = SharedState::default();
    let key = CacheKey::Record(RecordId::parse("13").expect("an id"));
    assert!(lone.claim(key, Duration::from_secs(1)).await);
    assert!(lone.get(key).await.is_none());
    assert!(lone.take(Duration::ZERO).await.is_err());
    assert!(!lone.in_use());
    assert_eq!(lone.hold(Duration::from_secs(1)).await, Ok(true));
    assert!(!lone.keeps());
    assert!(lone.status().is_none());
}

#[tokio::test]
async fn an_unreachable_store_is_reported_and_costs_one_deadline() {
    let redis = RedisServer::start();
    let a = replica(&redis, "2", "50");
    assert!(a.take(Duration::ZERO).await.is_ok());
    drop(redis);
    let started = std::time::Instant::now();
    assert!(a.take(Duration::ZERO).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(1));
    let health = a.status().expect("configured");
    assert!(!health.reachable);
    assert_eq!(health.fallbacks, 1);
    assert!(!a.in_use(), "not asked again before the pause is over");
    let key = CacheKey::Record(RecordId::parse("13").expect("an id"));
    assert!(
        a.claim(key, Duration::from_secs(1)).await,
        "reads it itself"
    );
}

#[test]
fn a_url_that_is_not_redis_is_refused_without_quoting_it() {
    let secret = "https://user:hunter2@cache.example:6379";
    let lookup = |name: &str| (name == "STOCK_SHARED_STATE").then(|| secret.to_string());
    let Err(error) = SharedLink::from_lookup(lookup) else {
        panic!("refused")
    };
    assert_eq!(error.variable, "STOCK_SHARED_STATE");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let unset = SharedLink::from_lookup(|_| None).expect("no store is fine");
    assert!(!unset.is_configured());
    assert!(!format!("{unset:?}").contains("redis"));
}

/// ElastiCache Serverless runs in cluster mode: every script's keys must share a slot.
#[tokio::test]
async fn every_port_works_against_a_store_in_cluster_mode() {
    let redis = RedisServer::start_cluster();
    let (a, b) = (replica(&redis, "2", "10"), replica(&redis, "2", "10"));
    let slot = a
        .take(Duration::ZERO)
        .await
        .expect("the budget's keys in one slot");
    assert_eq!(slot.slot, Ok(Duration::ZERO));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    a.pause("catalog.storeproduct.get", now + Duration::from_secs(60))
        .await;
    assert_eq!(b.take(Duration::ZERO).await.expect("slot").pauses.len(), 1);
    let key = CacheKey::Record(RecordId::parse("13").expect("an id"));
    assert!(a.claim(key, Duration::from_secs(5)).await);
    assert!(
        !b.claim(key, Duration::from_secs(5)).await,
        "claimed, not refused"
    );
    a.put(key, Bytes::from_static(b"{}"), Duration::from_secs(30))
        .await;
    a.release(key).await;
    assert!(b.get(key).await.is_some());
    assert_eq!(a.hold(Duration::from_secs(5)).await, Ok(true));
    a.save(Bytes::from_static(b"table"))
        .await
        .expect("the table's keys in one slot");
    assert!(b.load(None).await.expect("loaded").is_some());
    assert!(
        b.status().expect("configured").reachable,
        "no refusal on the way"
    );
}
