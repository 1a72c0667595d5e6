//! The Cache API as the core's shared cache level: answers stored in the data centre's cache
//! under a synthetic key that never holds the webhook, only the record id and a fingerprint of
//! the deployment (`core::protection::shared_cache_key`: release, policy, TTLs, and a digest of
//! the portal host and user): a policy change never serves old answers, and two deployments in
//! one zone never read each other's entries.
//!
//! On `*.workers.dev` the Cache API stores nothing (every `match` misses): serve from a custom
//! domain to get this level. Failures here are never the caller's problem: they read as misses.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use wasm_bindgen::JsValue;

use crate::core::api::render::RenderedRecord;
use crate::core::config::Settings;
use crate::core::protection::cache::Cached;
use crate::core::protection::shared_cache::SharedCache;
use crate::core::protection::shared_cache_key::deployment_fingerprint;
use crate::core::secret::WebhookUrl;
use crate::core::stock::id::RecordId;

const KEY_BASE: &str = "https://b24-stock-gateway.invalid/v1/";
const KIND: &str = "x-stock-kind";
const V1_LEN: &str = "x-stock-v1-len";
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

    fn key(&self, id: RecordId) -> String {
        format!("{KEY_BASE}{id}?p={}", self.fingerprint)
    }

    async fn lookup(&self, id: RecordId) -> Option<(Cached, Duration)> {
        let cache = default_cache()?;
        let mut response = cache.get(self.key(id), false).await.ok()??;
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
        let kind = headers.get(KIND).ok()??;
        let v1_len = number(V1_LEN);
        let age = js_sys::Date::now() - stored_at;
        // Our own expiry check: an emulated cache may keep entries past max-age.
        if !(0.0..ttl).contains(&age) {
            return None;
        }
        let value = match kind.as_str() {
            "missing" => Cached::Missing,
            "record" => {
                let body = Bytes::from(response.bytes().await.ok()?);
                let split = v1_len? as usize;
                if split > body.len() {
                    return None;
                }
                Cached::Record(RenderedRecord {
                    v1: body.slice(..split),
                    bitrix: body.slice(split..),
                })
            }
            _ => return None,
        };
        Some((value, Duration::from_secs_f64(age / 1000.0)))
    }

    async fn store(&self, id: RecordId, value: &Cached, ttl: Duration) -> Option<()> {
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
        let body = match value {
            Cached::Missing => {
                set(KIND, "missing")?;
                Vec::new()
            }
            Cached::Record(record) => {
                set(KIND, "record")?;
                set(V1_LEN, &record.v1.len().to_string())?;
                [record.v1.as_ref(), record.bitrix.as_ref()].concat()
            }
        };
        let response = worker::Response::builder()
            .with_status(200)
            .with_headers(headers)
            .fixed(body);
        cache.put(self.key(id), response).await.ok()
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
    fn get(&self, id: RecordId) -> impl Future<Output = Option<(Cached, Duration)>> {
        self.lookup(id)
    }

    async fn put(&self, id: RecordId, value: &Cached, ttl: Duration) {
        if self.store(id, value, ttl).await.is_none() {
            tracing::debug!(%id, "cache API put failed");
        }
    }
}
