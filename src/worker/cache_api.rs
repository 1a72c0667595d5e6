//! The Cache API as the core's shared cache level: the core's bytes stored in the data centre's
//! cache under a synthetic key that never holds the webhook, only what the entry is about and a
//! fingerprint of the deployment (`core::config::fingerprint`: release, policy, TTLs,
//! and a digest of the portal host and user): a policy change never serves old answers, and two
//! deployments in one zone never read each other's entries.
//!
//! On `*.workers.dev` the Cache API stores nothing (every `match` misses): serve from a custom
//! domain to get this level. Failures here are never the caller's problem: they read as misses.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use wasm_bindgen::JsValue;

use crate::core::config::fingerprint::deployment_fingerprint;
use crate::core::config::Settings;
use crate::core::domain::webhook::WebhookUrl;
use crate::core::ports::{CacheKey, SharedCache};

const KEY_BASE: &str = "https://b24-stock-gateway.invalid/v1/";
const STORED_AT: &str = "x-stock-stored-at-ms";
const TTL: &str = "x-stock-ttl-ms";

pub struct CacheApi {
    fingerprint: String,
}

impl CacheApi {
    pub fn new(settings: &Settings, webhook: &WebhookUrl) -> Self {
        Self {
            fingerprint: deployment_fingerprint(settings, webhook),
        }
    }

    fn key(&self, key: CacheKey) -> String {
        format!("{KEY_BASE}{key}?p={}", self.fingerprint)
    }

    async fn lookup(&self, key: CacheKey) -> Option<(Bytes, Duration)> {
        let cache = default_cache()?;
        let mut response = cache.get(self.key(key), false).await.ok()??;
        if response.status_code() != 200 {
            return None;
        }
        let headers = response.headers();
        let number = |name: &str| -> Option<f64> {
            headers
                .get(name)
                .ok()??
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
        };
        let stored_at = number(STORED_AT)?;
        let ttl = number(TTL)?;
        let age = js_sys::Date::now() - stored_at;
        // Our own expiry check: an emulated cache may keep entries past max-age.
        if !(0.0..ttl).contains(&age) {
            return None;
        }
        let body = Bytes::from(response.bytes().await.ok()?);
        Some((body, Duration::from_secs_f64(age / 1000.0)))
    }

    async fn store(&self, key: CacheKey, value: Bytes, ttl: Duration) -> Option<()> {
        let cache = default_cache()?;
        let headers = worker::Headers::new();
        let set = |name: &str, value: &str| headers.set(name, value).ok();
        set("content-type", "application/octet-stream")?;
        set(
            "cache-control",
            &format!("max-age={}", ttl.as_secs().max(1)),
        )?;
        set(STORED_AT, &format!("{}", js_sys::Date::now()))?;
        set(TTL, &ttl.as_millis().to_string())?;
        let response = worker::Response::builder()
            .with_status(200)
            .with_headers(headers)
            .fixed(value.to_vec());
        cache.put(self.key(key), response).await.ok()
    }
}

/// `caches.default`, if the runtime has one.
fn default_cache() -> Option<worker::Cache> {
    let global = js_sys::global();
    let caches = js_sys::Reflect::get(&global, &JsValue::from_str("caches")).ok()?;
    if caches.is_undefined() || caches.is_null() {
        return None;
    }
    Some(worker::Cache::default())
}

impl SharedCache for CacheApi {
    fn get(&self, key: CacheKey) -> impl Future<Output = Option<(Bytes, Duration)>> {
        self.lookup(key)
    }

    async fn put(&self, key: CacheKey, value: Bytes, ttl: Duration) {
        if self.store(key, value, ttl).await.is_none() {
            tracing::debug!(%key, "cache API put failed");
        }
    }
}
