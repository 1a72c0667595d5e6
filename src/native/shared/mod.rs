//! State replicas share in Redis or Valkey (`STOCK_SHARED_STATE=redis://…`): one portal
//! budget, one answer cache with one flight per id, and for a mirror one sweeper and one table.
//! Without the variable the same type shares nothing, and each port answers as a lone instance
//! would (its own share, its own cache, its own sweeps).
//!
//! Keys: the budget and the operating-time pauses belong to the portal (every deployment in
//! front of one portal spends one bucket); answers, claims, the lease and the table belong to
//! the deployment (`core::config::fingerprint`: release, policy, TTLs, portal and user). No
//! key and no value holds the webhook. The keys one script touches share a hash tag (`{…}`),
//! so a store in cluster mode (ElastiCache Serverless) keeps them in one slot.
//!
//! The `redis` crate: the most used Rust client, with a connection manager that keeps one
//! multiplexed connection and reconnects on its own, scripts sent by hash, and TLS through
//! rustls (`rediss://`), which the gateway already carries. `fred` does more (pools, cluster,
//! sentinel) than a replica's few questions need.

pub mod link;
mod scripts;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redis::Script;
use secrecy::{ExposeSecret, SecretString};

use crate::core::config::fingerprint::fingerprint_of;
use crate::core::config::variables::Vars;
use crate::core::config::{BudgetLimits, ConfigError, Settings};
use crate::core::domain::shared_state::SharedStateHealth;
use crate::core::domain::webhook::WebhookUrl;
use crate::core::kit::digest::fnv1a;
use crate::core::ports::{CacheKey, SharedBudget, SharedCache, SharedSlot, SweepLease, TableStore};
use link::Link;

pub const SHARED_STATE_VAR: &str = "STOCK_SHARED_STATE";
const TIMEOUT_VAR: &str = "STOCK_SHARED_STATE_TIMEOUT_MS";

/// The connection to the store replicas share, made once per process from the environment
/// (a reload keeps it), or none (`Default`).
#[derive(Clone, Default)]
pub struct SharedLink(Option<Arc<Link>>);

impl SharedLink {
    /// The store `STOCK_SHARED_STATE` names; none when it is unset. Nothing is asked of the
    /// store yet: a gateway starts while it is away. Errors never quote the value (it may
    /// hold a password).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(lookup);
        let timeout = Duration::from_millis(vars.whole(TIMEOUT_VAR)?);
        let Some(url) = vars.text(SHARED_STATE_VAR).map(SecretString::from) else {
            return Ok(Self::default());
        };
        Ok(Self(Some(Link::new(open(&url)?, timeout))))
    }

    pub fn is_configured(&self) -> bool {
        self.0.is_some()
    }
}

impl std::fmt::Debug for SharedLink {
    /// Whether there is one, never where (the URL may hold a password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let configured = self.is_configured();
        f.debug_tuple("SharedLink").field(&configured).finish()
    }
}

/// The store replicas share as one deployment uses it, or none (`Default`).
#[derive(Clone, Default)]
pub struct SharedState(Option<Arc<Store>>);

struct Store {
    link: Arc<Link>,
    /// Names this instance's claims, lease and table versions.
    instance: String,
    /// The deployment's and the portal's names in keys.
    deployment: String,
    portal: String,
    limits: BudgetLimits,
    /// How long past its life an answer is kept, to stand in while the portal fails.
    stale_for: Duration,
    saves: AtomicU64,
    take: Script,
    pause: Script,
    claim: Script,
    release: Script,
    hold: Script,
    load_table: Script,
    save_table: Script,
}

impl SharedState {
    /// The deployment `settings` and `webhook` describe, over `link` (none: nothing shared).
    pub fn new(link: &SharedLink, settings: &Settings, webhook: &WebhookUrl) -> Self {
        Self::for_portal(link, settings, &webhook.portal_identity())
    }

    /// The same for a portal known by another name (a Lambda function's secret: the webhook is
    /// read at run time).
    pub fn for_portal(link: &SharedLink, settings: &Settings, portal_identity: &str) -> Self {
        let Some(link) = &link.0 else {
            return Self::default();
        };
        let portal = fnv1a(portal_identity.as_bytes());
        let instance = format!("{:032x}", crate::native::entropy::seed());
        Self(Some(Arc::new(Store {
            link: link.clone(),
            instance,
            deployment: fingerprint_of(settings, portal_identity),
            portal: format!("{portal:016x}"),
            limits: settings.deployment_budget,
            stale_for: settings.stale_if_error,
            saves: AtomicU64::new(0),
            take: Script::new(scripts::TAKE),
            pause: Script::new(scripts::PAUSE),
            claim: Script::new(scripts::CLAIM),
            release: Script::new(scripts::RELEASE),
            hold: Script::new(scripts::HOLD),
            load_table: Script::new(scripts::LOAD_TABLE),
            save_table: Script::new(scripts::SAVE_TABLE),
        })))
    }
}

/// A client for `url`, which must be `redis://`, `rediss://` or `unix://`.
fn open(url: &SecretString) -> Result<redis::Client, ConfigError> {
    let text = url.expose_secret();
    let scheme_ok = ["redis://", "rediss://", "unix://"]
        .iter()
        .any(|s| text.starts_with(s));
    let refused = || {
        ConfigError::new(
            SHARED_STATE_VAR,
            "must be a redis://, rediss:// or unix:// URL (value not shown: it may hold a password)",
        )
    };
    if !scheme_ok {
        return Err(refused());
    }
    redis::Client::open(text).map_err(|_| refused())
}

impl Store {
    /// The deployment's key `name` (its table, its lease).
    fn key(&self, name: &str) -> String {
        format!("b24sg:{{{}}}:{name}", self.deployment)
    }

    /// The key `name` of what is known about one id (its answer, its claim): both in one slot.
    fn id_key(&self, key: CacheKey, name: &str) -> String {
        format!("b24sg:{{{}:{key}}}:{name}", self.deployment)
    }
}

/// An answer's stored form: its life (ms, little-endian u64), then the core's bytes.
const LIFE_BYTES: usize = 8;

impl SharedState {
    /// An answer, how old, and whether still inside its life.
    async fn answer(&self, key: CacheKey) -> Option<(Bytes, Duration, bool)> {
        let store = self.0.as_ref()?;
        let name = store.id_key(key, "answer");
        let (value, left): (Option<Vec<u8>>, i64) = store
            .link
            .ask(false, |mut c| async move {
                redis::pipe()
                    .atomic()
                    .get(&name)
                    .pttl(&name)
                    .query_async(&mut c)
                    .await
            })
            .await
            .ok()?;
        let value = value?;
        let life = u64::from_le_bytes(value.get(..LIFE_BYTES)?.try_into().ok()?);
        // Kept for its life and the stale window: what is left of both.
        let kept = life.saturating_add(store.stale_for.as_millis() as u64);
        let left = u64::try_from(left).ok().filter(|l| *l > 0 && *l <= kept)?;
        let age = Duration::from_millis(kept - left);
        let fresh = kept - left < life;
        Some((Bytes::copy_from_slice(&value[LIFE_BYTES..]), age, fresh))
    }
}

impl SharedCache for SharedState {
    async fn get(&self, key: CacheKey) -> Option<(Bytes, Duration)> {
        let (bytes, age, fresh) = self.answer(key).await?;
        fresh.then_some((bytes, age))
    }

    async fn get_stale(&self, key: CacheKey) -> Option<(Bytes, Duration)> {
        let (bytes, age, _) = self.answer(key).await?;
        Some((bytes, age))
    }

    async fn put(&self, key: CacheKey, value: Bytes, ttl: Duration) {
        let Some(store) = &self.0 else { return };
        let life = ttl.as_millis().clamp(1, u128::from(u32::MAX)) as u64;
        let mut stored = Vec::with_capacity(LIFE_BYTES + value.len());
        stored.extend_from_slice(&life.to_le_bytes());
        stored.extend_from_slice(&value);
        let name = store.id_key(key, "answer");
        let kept = life.saturating_add(store.stale_for.as_millis() as u64);
        let _ = store
            .link
            .ask(false, |mut c| async move {
                redis::cmd("SET")
                    .arg(&name)
                    .arg(stored)
                    .arg("PX")
                    .arg(kept)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
    }

    async fn claim(&self, key: CacheKey, hold: Duration) -> bool {
        let Some(store) = &self.0 else { return true };
        let keys = [store.id_key(key, "flight"), store.id_key(key, "answer")];
        let hold_ms = hold.as_millis().max(1) as u64;
        let claimed = store
            .link
            .ask(false, |mut c| async move {
                store
                    .claim
                    .key(&keys[0])
                    .key(&keys[1])
                    .arg(&store.instance)
                    .arg(hold_ms)
                    .arg(store.stale_for.as_millis() as u64)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
        // Claimed, or the store cannot say: read it here.
        claimed != Ok(0)
    }

    async fn claim_refresh(&self, key: CacheKey, hold: Duration) -> bool {
        let Some(store) = &self.0 else { return true };
        let name = store.id_key(key, "refresh");
        let hold_ms = hold.as_millis().max(1) as u64;
        let claimed = store
            .link
            .ask(false, |mut c| async move {
                redis::cmd("SET")
                    .arg(&name)
                    .arg(&store.instance)
                    .arg("NX")
                    .arg("PX")
                    .arg(hold_ms)
                    .query_async::<Option<String>>(&mut c)
                    .await
            })
            .await;
        !matches!(claimed, Ok(None))
    }

    fn release_soon(&self, key: CacheKey) {
        let (Some(_), Ok(runtime)) = (&self.0, tokio::runtime::Handle::try_current()) else {
            return;
        };
        let shared = self.clone();
        runtime.spawn(async move { shared.release(key).await });
    }

    fn joined(&self) {
        if let Some(store) = &self.0 {
            store.link.count_flight_joined();
        }
    }

    async fn release(&self, key: CacheKey) {
        let Some(store) = &self.0 else { return };
        let name = store.id_key(key, "flight");
        let _ = store
            .link
            .ask(false, |mut c| async move {
                store
                    .release
                    .key(name)
                    .arg(&store.instance)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
    }

    fn status(&self) -> Option<SharedStateHealth> {
        self.0.as_ref().map(|store| store.link.health())
    }
}

impl SharedBudget for SharedState {
    async fn take(&self, max_wait: Duration) -> Result<SharedSlot, ()> {
        let store = self.0.as_ref().ok_or(())?;
        let keys = [store.portal_key("budget"), store.portal_key("pauses")];
        let limits = store.limits;
        let answer: Vec<String> = store
            .link
            .ask(false, |mut c| async move {
                store
                    .take
                    .key(&keys[0])
                    .key(&keys[1])
                    .arg(limits.drain_per_sec)
                    .arg(limits.burst)
                    .arg(max_wait.as_millis() as u64)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        let mut fields = answer.iter();
        let wait_ms: i64 = fields.next().and_then(|w| w.parse().ok()).ok_or(())?;
        let level: f64 = fields.next().and_then(|l| l.parse().ok()).ok_or(())?;
        let mut pauses = Vec::new();
        while let (Some(method), Some(until)) = (fields.next(), fields.next()) {
            if let Ok(until) = until.parse::<u64>() {
                pauses.push((method.clone(), Duration::from_secs(until)));
            }
        }
        if wait_ms != 0 {
            store.link.count_budget_wait();
        }
        let slot = if wait_ms >= 0 {
            Ok(Duration::from_millis(wait_ms as u64))
        } else {
            Err(Duration::from_millis(wait_ms.unsigned_abs()))
        };
        Ok(SharedSlot {
            slot,
            level,
            pauses,
        })
    }

    async fn pause(&self, method: &'static str, until: Duration) {
        let Some(store) = &self.0 else { return };
        let key = store.portal_key("pauses");
        let _ = store
            .link
            .ask(false, |mut c| async move {
                store
                    .pause
                    .key(key)
                    .arg(method)
                    .arg(until.as_secs())
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await;
    }

    fn in_use(&self) -> bool {
        self.0.as_ref().is_some_and(|store| store.link.in_use())
    }
}

impl Store {
    /// The portal's key `name` (its budget, its pauses).
    fn portal_key(&self, name: &str) -> String {
        format!("b24sg:{{portal:{}}}:{name}", self.portal)
    }
}

impl TableStore for SharedState {
    async fn load(&self, known: Option<&str>) -> Result<Option<(Bytes, String)>, ()> {
        let Some(store) = &self.0 else {
            return Ok(None);
        };
        let keys = [store.key("table"), store.key("table:version")];
        let known = known.unwrap_or("").to_string();
        let mut answer: Vec<Vec<u8>> = store
            .link
            .ask(true, |mut c| async move {
                store
                    .load_table
                    .key(&keys[0])
                    .key(&keys[1])
                    .arg(known)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if answer.len() < 2 {
            return Ok(None);
        }
        let table = answer.pop().unwrap_or_default();
        let version = String::from_utf8_lossy(&answer[0]).into_owned();
        Ok(Some((Bytes::from(table), version)))
    }

    async fn save(&self, table: Bytes) -> Result<(), ()> {
        let Some(store) = &self.0 else { return Ok(()) };
        let keys = [store.key("table"), store.key("table:version")];
        let n = store.saves.fetch_add(1, Ordering::Relaxed);
        let version = format!("{}-{n}", store.instance);
        store
            .link
            .ask(true, |mut c| async move {
                store
                    .save_table
                    .key(&keys[0])
                    .key(&keys[1])
                    .arg(table.as_ref())
                    .arg(version)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await
            .map(|_| ())
    }

    fn keeps(&self) -> bool {
        self.0.is_some()
    }
}

impl SweepLease for SharedState {
    async fn hold(&self, hold: Duration) -> Result<bool, ()> {
        let Some(store) = &self.0 else {
            return Ok(true);
        };
        let key = store.key("lease");
        let held: i64 = store
            .link
            .ask(false, |mut c| async move {
                store
                    .hold
                    .key(key)
                    .arg(&store.instance)
                    .arg(hold.as_millis() as u64)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(held == 1)
    }
}
