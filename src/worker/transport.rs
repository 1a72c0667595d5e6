//! Outbound calls to the portal with `fetch`: `redirect: "manual"`, one total deadline kept by
//! a JS timer that aborts the exchange through an `AbortController`, a size cap checked against
//! `Content-Length` and again while reading, and errors that never carry the URL.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use worker::{AbortController, AbortSignal, Delay, Fetch, Headers, Method, RequestInit};

use crate::core::domain::webhook::WebhookUrl;
use crate::core::ports::{PortalReply, PortalTransport, TransportError, MAX_PORTAL_ANSWER_BYTES};

/// The portal behind the webhook from `env.secret("B24_WEBHOOK_URL")`.
pub struct FetchPortal {
    webhook: WebhookUrl,
}

impl FetchPortal {
    pub fn new(webhook: WebhookUrl) -> Self {
        Self { webhook }
    }

    async fn send(
        &self,
        method: &'static str,
        body: Bytes,
        deadline: Duration,
    ) -> Result<PortalReply, TransportError> {
        let controller = AbortController::default();
        let exchange = pin!(exchange(&self.webhook, method, body, controller.signal()));
        // The timer is cleared when `select` drops it, i.e. as soon as the answer is in.
        let timer = pin!(Delay::from(deadline));
        let outcome = match select(exchange, timer).await {
            Either::Left((outcome, _timer)) => outcome,
            Either::Right(((), _exchange)) => Err(TransportError::Timeout),
        };
        if outcome.is_err() {
            // Stop whatever is still in flight (headers or an unread body).
            controller.abort();
        }
        outcome
    }
}

async fn exchange(
    webhook: &WebhookUrl,
    method: &str,
    body: Bytes,
    signal: AbortSignal,
) -> Result<PortalReply, TransportError> {
    let headers = Headers::new();
    headers
        .set("content-type", "application/json")
        .and_then(|()| headers.set("accept", "application/json"))
        .map_err(|_| TransportError::Connect)?;
    let payload = js_sys::Uint8Array::from(body.as_ref());
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_redirect(worker::RequestRedirect::Manual)
        .with_body(Some(payload.into()));
    // The only place the webhook is exposed: to build the request. Errors are dropped whole,
    // because JS error messages may quote the URL.
    let request = worker::Request::new_with_init(webhook.method_url(method).expose_secret(), &init)
        .map_err(|_| TransportError::Connect)?;
    // workerd does not say why a fetch failed before any answer (refused, reset, a pooled
    // connection the portal had closed): worth one more try, as on the native adapters.
    let mut response = Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(|_| TransportError::Dropped)?;
    let status = response.status_code();
    if (300..400).contains(&status) {
        return Err(TransportError::Redirect);
    }
    let declared = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_PORTAL_ANSWER_BYTES as u64) {
        return Err(TransportError::TooLarge);
    }
    let mut buffer = BytesMut::new();
    // No body at all (e.g. 204) reads as empty.
    if let Ok(stream) = response.stream() {
        let mut stream = pin!(stream);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| TransportError::Broken)?;
            if buffer.len() + chunk.len() > MAX_PORTAL_ANSWER_BYTES {
                return Err(TransportError::TooLarge);
            }
            buffer.extend_from_slice(&chunk);
        }
    }
    if signal.aborted() {
        // A stream cut by an abort ends like a complete one; never take it for an answer.
        return Err(TransportError::Timeout);
    }
    Ok(PortalReply {
        status,
        body: buffer.freeze(),
    })
}

impl PortalTransport for FetchPortal {
    fn post(
        &self,
        method: &'static str,
        body: Bytes,
        deadline: Duration,
    ) -> impl Future<Output = Result<PortalReply, TransportError>> {
        self.send(method, body, deadline)
    }
}
