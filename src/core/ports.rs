//! What the core needs from a platform: an outbound call to the portal and a clock.
//!
//! Futures are not required to be `Send`: Worker futures are not. Native adapters use concrete
//! types whose futures are `Send`, and the compiler sees that through these signatures.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

/// The largest portal answer read into memory; a longer one is a bad answer.
pub const MAX_PORTAL_ANSWER_BYTES: usize = 1024 * 1024;

/// What came back from the portal: status and the whole body (at most the cap).
#[derive(Debug, Clone)]
pub struct PortalReply {
    pub status: u16,
    pub body: Bytes,
}

/// A failed exchange. Deliberately carries no URL, no message from the HTTP client: those
/// contain the webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the portal did not answer within the deadline")]
    Timeout,
    #[error("the portal answered with a redirect, which is never followed")]
    Redirect,
    #[error("the portal's answer exceeded the size cap")]
    TooLarge,
    #[error("could not connect to the portal")]
    Connect,
    #[error("the connection to the portal broke")]
    Broken,
    /// The connection closed before any answer: typically a kept-alive connection the portal
    /// had just closed, so the request never reached it. Worth one more try.
    #[error("the connection to the portal closed before it answered")]
    Dropped,
    #[error("the webhook secret is not available")]
    SecretUnavailable,
}

/// Sends one REST call to the portal.
pub trait PortalTransport {
    /// POSTs JSON `body` to `METHOD` under the webhook. Must: finish within `deadline`
    /// (connect, headers and body together), never follow redirects, and stop reading past
    /// [`MAX_PORTAL_ANSWER_BYTES`].
    fn post(
        &self,
        method: &'static str,
        body: Bytes,
        deadline: Duration,
    ) -> impl Future<Output = Result<PortalReply, TransportError>>;

    /// The portal rejected the credentials; a transport that can reload its secret should
    /// do so before the next call.
    fn credentials_rejected(&self) {}
}

/// Time, from the platform (`std::time::Instant` traps on wasm32).
pub trait Clock {
    /// Wall-clock time since the Unix epoch (the portal's `operating_reset_at` is Unix time).
    fn unix_time(&self) -> Duration;
    /// A clock that never goes back, for TTLs, deadlines and latencies.
    fn monotonic(&self) -> Duration;
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}
