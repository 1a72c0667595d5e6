//! The local HTTP server adapter (hyper connections, one handler): turns HTTP requests into
//! core requests and back.
//!
//! - [`settings`]: the server's own variables (trusted proxy header, connection limits).
//! - [`accept`]: the accept loop with its timeouts, connection cap and graceful shutdown.
//! - [`metrics`]: Prometheus metrics on a separate, opt-in listener.
//! - [`reload`]: SIGHUP reads the configuration again and takes a valid one.

pub mod accept;
pub mod metrics;
pub mod reload;
pub mod settings;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use tokio::net::TcpListener;

use crate::core::api::forwarded::from_proxy_header_lines;
use crate::core::api::request::{InboundBody, MAX_REQUEST_BODY_BYTES};
use crate::core::config::{Settings, SourceMode};
use crate::core::domain::caller::ClientIp;
use crate::core::gateway::Gateway;
use crate::core::source::configured::Configured;
use crate::core::source::mirror::PortalMirror;
use crate::core::source::on_demand::PortalSource;
use crate::native::clock::SystemClock;
use crate::native::memory;
use crate::native::portal_http::WebhookPortal;
use crate::native::shared::SharedState;

pub use settings::{ConnectionLimits, ServerSettings};

/// The local server's source: on demand, or a mirror swept in this process (`STOCK_SOURCE`);
/// either shares budget, cache and table with other replicas through `STOCK_SHARED_STATE`.
pub type LocalSource = Configured<
    PortalSource<WebhookPortal, SystemClock, SharedState, SharedState>,
    PortalMirror<WebhookPortal, SystemClock, SharedState, SharedState, SharedState>,
>;

pub type LocalGateway = Gateway<LocalSource, SystemClock>;

/// The gateway in service. A reload with new settings (SIGHUP) puts a new one in its place; a
/// request keeps the gateway it started on until it is answered.
pub type InService = Arc<ArcSwap<LocalGateway>>;

/// The source `settings` ask for, over the portal behind `transport`, sharing what `shared`
/// keeps with the other replicas (nothing, without `STOCK_SHARED_STATE`).
pub fn local_source(
    settings: &Settings,
    transport: WebhookPortal,
    shared: &SharedState,
) -> LocalSource {
    let clock = SystemClock::default();
    match settings.source {
        SourceMode::OnDemand => Configured::OnDemand(PortalSource::over_shared_portal(
            settings,
            transport,
            clock,
            shared.clone(),
        )),
        SourceMode::Mirror => Configured::Mirror(PortalMirror::over_shared_portal(
            settings,
            transport,
            clock,
            shared.clone(),
        )),
    }
}

/// In mirror mode, sweeps on the mirror's schedule until the task is aborted (a reload
/// replaced the gateway) or the server stops: while it holds the replicas' sweeper lease in
/// `shared`, or always when nothing is shared.
pub fn spawn_sweeps(
    gateway: &Arc<LocalGateway>,
    shared: &SharedState,
) -> Option<tokio::task::JoinHandle<()>> {
    let Configured::Mirror(_) = gateway.source() else {
        return None;
    };
    let gateway = gateway.clone();
    let lease = shared.clone();
    Some(tokio::spawn(async move {
        if let Configured::Mirror(mirror) = gateway.source() {
            mirror.sweep_or_follow(&lease, memory::release_free).await;
        }
    }))
}

/// The server's shared state.
#[derive(Clone)]
pub struct Served {
    pub gateway: InService,
    /// A header set by a trusted reverse proxy to read the client address from
    /// (`STOCK_TRUSTED_PROXY_HEADER`); otherwise the peer address is the client.
    pub trusted_proxy_header: Option<HeaderName>,
    /// How long a request body may take to arrive (`STOCK_BODY_TIMEOUT_MS`).
    pub body_timeout: Duration,
}

/// One request: the body (bounded in size and time), the client address, then the core, which
/// owns routing. A plain hyper service: no router in front of a single handler.
pub async fn handle(
    served: Served,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let declared_too_large = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| len > MAX_REQUEST_BODY_BYTES);
    let body = if declared_too_large {
        InboundBody::TooLarge
    } else if body.is_end_stream() {
        // Most requests (GET) have none: no read, no timer.
        InboundBody::Empty
    } else {
        // Reads at most one byte past the limit, so a huge body is never buffered; a body
        // trickling in is cut off at the deadline.
        let read = Limited::new(body, MAX_REQUEST_BODY_BYTES + 1).collect();
        match tokio::time::timeout(served.body_timeout, read).await {
            Ok(Ok(collected)) => InboundBody::from_bytes(collected.to_bytes()),
            Ok(Err(_)) => InboundBody::TooLarge,
            Err(_) => return body_timed_out(),
        }
    };
    let client = served
        .trusted_proxy_header
        .as_ref()
        .and_then(|name| from_proxy_header_lines(parts.headers.get_all(name).iter()))
        .unwrap_or(peer.ip());
    parts.extensions.insert(ClientIp(client));
    let gateway = served.gateway.load_full();
    let (response, refresh) = gateway
        .handle(http::Request::from_parts(parts, body))
        .await
        .into_parts();
    if !refresh.is_empty() {
        // After answering: the caller never waits for a refresh.
        tokio::spawn(async move { gateway.refresh(refresh).await });
    }
    response.map(Full::new)
}

/// What the server answers with: the core's bytes, whole.
pub type Response = http::Response<Full<Bytes>>;

/// The body did not arrive within `STOCK_BODY_TIMEOUT_MS`: say so, and close the connection
/// (the rest of the body may still be on its way).
fn body_timed_out() -> Response {
    let mut response = Response::new(Full::new(Bytes::from_static(
        br#"{"error":{"code":"request_timeout","message":"The request body did not arrive in time."}}"#,
    )));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Serves until Ctrl-C or SIGTERM, within `limits`.
pub async fn serve(
    listener: TcpListener,
    served: Served,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    accept::serve(listener, served, limits).await
}
