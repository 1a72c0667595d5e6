//! The Lambda's `PortalTransport`: the shared reqwest client (`PortalHttp`) plus the webhook,
//! either fixed (`B24_WEBHOOK_URL`, local runs) or read from Secrets Manager on first use and
//! kept for the life of the execution environment. When the portal rejects the credentials,
//! the core calls `credentials_rejected` and the next call reads the secret again, so a rotated
//! webhook is picked up without a redeploy.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::secret::SecretsExtension;
use crate::core::domain::webhook::WebhookUrl;
use crate::core::ports::{PortalReply, PortalTransport, TransportError};
use crate::native::portal_http::PortalHttp;

/// Where the webhook comes from.
#[derive(Debug)]
pub enum WebhookSource {
    Fixed(Arc<WebhookUrl>),
    Secret(CachedSecret),
}

/// A secret read once and kept until the portal rejects it.
#[derive(Debug)]
pub struct CachedSecret {
    reader: SecretsExtension,
    current: Mutex<Option<Arc<WebhookUrl>>>,
    /// One read at a time: concurrent first calls wait for it instead of reading too.
    loading: tokio::sync::Mutex<()>,
}

impl CachedSecret {
    pub fn new(reader: SecretsExtension) -> Self {
        Self {
            reader,
            current: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> Option<Arc<WebhookUrl>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn forget(&self) {
        let had = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .is_some();
        if had {
            tracing::warn!(
                secret = self.reader.secret_id(),
                "the portal rejected the webhook: the secret will be read again"
            );
        }
    }

    async fn get(&self, deadline: Duration) -> Result<Arc<WebhookUrl>, TransportError> {
        if let Some(webhook) = self.cached() {
            return Ok(webhook);
        }
        let started = Instant::now();
        let _loading = tokio::time::timeout(deadline, self.loading.lock())
            .await
            .map_err(|_| TransportError::SecretUnavailable)?;
        if let Some(webhook) = self.cached() {
            return Ok(webhook);
        }
        let left = deadline.saturating_sub(started.elapsed());
        match self.reader.read(left).await {
            Ok(webhook) => {
                let webhook = Arc::new(webhook);
                *self
                    .current
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(webhook.clone());
                tracing::info!(secret = self.reader.secret_id(), "webhook secret loaded");
                Ok(webhook)
            }
            Err(problem) => {
                tracing::error!(
                    problem = %problem,
                    secret = self.reader.secret_id(),
                    "cannot read the webhook secret"
                );
                Err(TransportError::SecretUnavailable)
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

    pub fn from_secret(reader: SecretsExtension) -> Self {
        Self::new(WebhookSource::Secret(CachedSecret::new(reader)))
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
