//! Outbound calls to the portal with reqwest (rustls): one total deadline, no redirects, a size
//! cap checked before buffering, and errors stripped of the URL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use secrecy::ExposeSecret;

use crate::core::domain::webhook::WebhookUrl;
use crate::core::kit::lock::lock;
use crate::core::ports::{PortalReply, PortalTransport, TransportError, MAX_PORTAL_ANSWER_BYTES};

/// A reqwest client set up for the portal; share one per process.
#[derive(Debug, Clone)]
pub struct PortalHttp {
    client: reqwest::Client,
}

impl PortalHttp {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("b24-stock-gateway/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            // Building fails only when the TLS backend cannot start: nothing can work then.
            .expect("the HTTP client could not start");
        Self { client }
    }

    /// POSTs `body` to `method` under `webhook`, all within `deadline`.
    pub async fn send(
        &self,
        webhook: &WebhookUrl,
        method: &str,
        body: Bytes,
        deadline: Duration,
    ) -> Result<PortalReply, TransportError> {
        let exchange = async {
            let url = webhook.method_url(method);
            let response = self
                .client
                .post(url.expose_secret())
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(body)
                .timeout(deadline)
                .send()
                .await
                .map_err(|error| strip_sent(&error))?;
            let status = response.status().as_u16();
            if (300..400).contains(&status) {
                return Err(TransportError::Redirect);
            }
            if response
                .content_length()
                .is_some_and(|len| len > MAX_PORTAL_ANSWER_BYTES as u64)
            {
                return Err(TransportError::TooLarge);
            }
            let mut response = response;
            let mut buffer = BytesMut::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| strip(&e))? {
                if buffer.len() + chunk.len() > MAX_PORTAL_ANSWER_BYTES {
                    return Err(TransportError::TooLarge);
                }
                buffer.extend_from_slice(&chunk);
            }
            Ok(PortalReply {
                status,
                body: buffer.freeze(),
            })
        };
        // reqwest's timeout covers the body too; this outer one is the belt to its braces.
        tokio::time::timeout(deadline, exchange)
            .await
            .unwrap_or(Err(TransportError::Timeout))
    }
}

impl Default for PortalHttp {
    fn default() -> Self {
        Self::new()
    }
}

/// An error before the answer's head: [`TransportError::Dropped`] when the connection closed
/// or was reset before any of the answer came (hyper's "incomplete message", or a reset while
/// writing the request or waiting for the answer).
fn strip_sent(error: &reqwest::Error) -> TransportError {
    use std::io::ErrorKind;
    if error.is_timeout() || error.is_connect() {
        return strip(error);
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let incomplete = cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message);
        let closed = cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
            )
        });
        if incomplete || closed {
            return TransportError::Dropped;
        }
        source = cause.source();
    }
    strip(error)
}

/// reqwest's errors print the request URL, which holds the secret: keep only the kind.
fn strip(error: &reqwest::Error) -> TransportError {
    if error.is_timeout() {
        TransportError::Timeout
    } else if error.is_connect() {
        TransportError::Connect
    } else {
        TransportError::Broken
    }
}

/// The local server's transport: the webhook read at start-up, which a reload (SIGHUP) may
/// replace through [`WebhookRotation`]. A call takes the webhook current when it starts, so
/// calls in flight finish on the old one.
#[derive(Debug, Clone)]
pub struct WebhookPortal {
    http: PortalHttp,
    webhook: Arc<Mutex<Arc<WebhookUrl>>>,
}

impl WebhookPortal {
    pub fn new(webhook: WebhookUrl) -> Self {
        Self {
            http: PortalHttp::new(),
            webhook: Arc::new(Mutex::new(Arc::new(webhook))),
        }
    }

    /// The webhook calls use now.
    pub fn webhook(&self) -> Arc<WebhookUrl> {
        lock(&self.webhook).clone()
    }

    /// A handle that replaces the webhook for every call that starts afterwards.
    pub fn rotation(&self) -> WebhookRotation {
        WebhookRotation(self.webhook.clone())
    }
}

/// Replaces a [`WebhookPortal`]'s webhook (and that of its clones).
#[derive(Debug, Clone)]
pub struct WebhookRotation(Arc<Mutex<Arc<WebhookUrl>>>);

impl WebhookRotation {
    pub fn replace(&self, webhook: WebhookUrl) {
        *lock(&self.0) = Arc::new(webhook);
    }
}

impl PortalTransport for WebhookPortal {
    fn post(
        &self,
        method: &'static str,
        body: Bytes,
        deadline: Duration,
    ) -> impl std::future::Future<Output = Result<PortalReply, TransportError>> {
        let webhook = lock(&self.webhook).clone();
        async move { self.http.send(&webhook, method, body, deadline).await }
    }
}
