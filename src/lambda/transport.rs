//! The Lambda's `PortalTransport`: the shared reqwest client (`PortalHttp`) plus the webhook,
//! either fixed (`B24_WEBHOOK_URL`, local runs) or read from Secrets Manager on first use and
//! kept for `STOCK_SECRET_MAX_AGE_SECS` (default 300). When the portal rejects the credentials,
//! the core calls `credentials_rejected` and the next call reads the secret again (at most once
//! a minute), so a rotated webhook is picked up without a redeploy.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::secret::SecretsExtension;
use crate::core::domain::webhook::WebhookUrl;
use crate::core::kit::lock::lock;
use crate::core::ports::{PortalReply, PortalTransport, TransportError};
use crate::native::portal_http::PortalHttp;

/// Where the webhook comes from.
#[derive(Debug)]
pub enum WebhookSource {
    Fixed(Arc<WebhookUrl>),
    Secret(CachedSecret),
}

/// How often the portal's refusals may send the gateway back to the secret.
const FORGET_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// A secret read on first use and kept for `max_age` (`STOCK_SECRET_MAX_AGE_SECS`), then read
/// again; read again at once when the portal rejects the webhook, at most once a minute (a
/// secret that still holds a revoked webhook is not read on every call).
#[derive(Debug)]
pub struct CachedSecret {
    reader: SecretsExtension,
    max_age: Duration,
    current: Mutex<Option<Held>>,
    last_forgotten: Mutex<Option<Instant>>,
    /// One read at a time: concurrent first calls wait for it instead of reading too.
    loading: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone)]
struct Held {
    webhook: Arc<WebhookUrl>,
    /// When it counts as read: a re-read that failed puts this forward, to try again later.
    read_at: Instant,
}

impl CachedSecret {
    pub fn new(reader: SecretsExtension, max_age: Duration) -> Self {
        Self {
            reader,
            max_age,
            current: Mutex::new(None),
            last_forgotten: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    fn held(&self) -> Option<Held> {
        lock(&self.current).clone()
    }

    /// The webhook, while it is younger than `max_age`.
    fn fresh(&self) -> Option<Arc<WebhookUrl>> {
        self.held()
            .filter(|held| held.read_at.elapsed() < self.max_age)
            .map(|held| held.webhook)
    }

    fn forget(&self) {
        {
            let mut last = lock(&self.last_forgotten);
            if last.is_some_and(|at| at.elapsed() < FORGET_AT_MOST_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        if lock(&self.current).take().is_some() {
            tracing::warn!(
                secret = self.reader.secret_id(),
                "the portal rejected the webhook: the secret will be read again"
            );
        }
    }

    async fn get(&self, deadline: Duration) -> Result<Arc<WebhookUrl>, TransportError> {
        if let Some(webhook) = self.fresh() {
            return Ok(webhook);
        }
        let started = Instant::now();
        let _loading = tokio::time::timeout(deadline, self.loading.lock())
            .await
            .map_err(|_| TransportError::SecretUnavailable)?;
        if let Some(webhook) = self.fresh() {
            return Ok(webhook);
        }
        let left = deadline.saturating_sub(started.elapsed());
        match self.reader.read(left).await {
            Ok(webhook) => {
                let webhook = Arc::new(webhook);
                *lock(&self.current) = Some(Held {
                    webhook: webhook.clone(),
                    read_at: Instant::now(),
                });
                tracing::info!(secret = self.reader.secret_id(), "webhook secret loaded");
                Ok(webhook)
            }
            Err(problem) => {
                tracing::error!(
                    problem = %problem,
                    secret = self.reader.secret_id(),
                    "cannot read the webhook secret"
                );
                // An aged webhook is still better than none: keep it, and try again in a minute.
                let mut current = lock(&self.current);
                let held = current.as_mut().ok_or(TransportError::SecretUnavailable)?;
                let retry = FORGET_AT_MOST_EVERY.min(self.max_age);
                held.read_at = Instant::now()
                    .checked_sub(self.max_age - retry)
                    .unwrap_or(held.read_at);
                Ok(held.webhook.clone())
            }
        }
    }
}

/// The transport the Lambda gives the core.
#[derive(Debug)]
pub struct LambdaPortal {
    /// Built on the first portal call: a `/healthz` or an invalid id never pays for it.
    http: OnceLock<PortalHttp>,
    source: WebhookSource,
}

impl LambdaPortal {
    pub fn new(source: WebhookSource) -> Self {
        Self {
            http: OnceLock::new(),
            source,
        }
    }

    pub fn fixed(webhook: WebhookUrl) -> Self {
        Self::new(WebhookSource::Fixed(Arc::new(webhook)))
    }

    /// The webhook from the secret, read again after `max_age` (and when the portal rejects it).
    pub fn from_secret(reader: SecretsExtension, max_age: Duration) -> Self {
        Self::new(WebhookSource::Secret(CachedSecret::new(reader, max_age)))
    }

    fn http(&self) -> &PortalHttp {
        self.http.get_or_init(PortalHttp::new)
    }
}

impl PortalTransport for LambdaPortal {
    async fn post(
        &self,
        method: &'static str,
        body: Bytes,
        deadline: Duration,
    ) -> Result<PortalReply, TransportError> {
        let started = Instant::now();
        let webhook = match &self.source {
            WebhookSource::Fixed(webhook) => webhook.clone(),
            WebhookSource::Secret(secret) => secret.get(deadline).await?,
        };
        let left = deadline.saturating_sub(started.elapsed());
        self.http().send(&webhook, method, body, left).await
    }

    fn credentials_rejected(&self) {
        if let WebhookSource::Secret(secret) = &self.source {
            secret.forget();
        }
    }
}
