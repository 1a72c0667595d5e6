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

mod answers;
mod budget;
pub mod link;
mod mirror;
mod scripts;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use redis::{Cmd, FromRedisValue, Script, ScriptInvocation};
use secrecy::{ExposeSecret, SecretString};

use crate::core::config::fingerprint::fingerprint_of;
use crate::core::config::variables::Vars;
use crate::core::config::{BudgetLimits, ConfigError, Settings};
use crate::core::domain::webhook::WebhookUrl;
use crate::core::kit::digest::fnv1a;
use crate::core::ports::CacheKey;
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

    /// The portal's key `name` (its budget, its pauses).
    fn portal_key(&self, name: &str) -> String {
        format!("b24sg:{{portal:{}}}:{name}", self.portal)
    }

    /// Runs a script with its keys and arguments set, within the deadline (`longer`: a
    /// table's).
    async fn invoke<T: FromRedisValue>(
        &self,
        longer: bool,
        call: ScriptInvocation<'_>,
    ) -> Result<T, ()> {
        self.link
            .ask(
                longer,
                |mut c| async move { call.invoke_async(&mut c).await },
            )
            .await
    }

    /// Sends one command, within the deadline.
    async fn query<T: FromRedisValue>(&self, command: Cmd) -> Result<T, ()> {
        self.link
            .ask(
                false,
                |mut c| async move { command.query_async(&mut c).await },
            )
            .await
    }
}
