//! The local HTTP server adapter (axum): turns HTTP requests into core requests and back.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;

use axum::http::HeaderName;

use crate::core::api::request::{InboundBody, MAX_REQUEST_BODY_BYTES};
use crate::core::gateway::Gateway;
use crate::core::protection::client_ip::{from_proxy_header_lines, ClientIp};
use crate::native::clock::SystemClock;
use crate::native::portal_http::StaticWebhookPortal;

pub type LocalGateway = Gateway<StaticWebhookPortal, SystemClock>;

/// The server's shared state.
#[derive(Clone)]
pub struct Served {
    pub gateway: Arc<LocalGateway>,
    /// A header set by a trusted reverse proxy to read the client address from
    /// (`STOCK_TRUSTED_PROXY_HEADER`); otherwise the peer address is the client.
    pub trusted_proxy_header: Option<HeaderName>,
}

/// Every path goes to the core, which owns routing.
pub fn router(served: Served) -> Router {
    Router::new().fallback(handle).with_state(served)
}

async fn handle(
    State(served): State<Served>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let declared_too_large = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| len > MAX_REQUEST_BODY_BYTES);
    let body = if declared_too_large {
        InboundBody::TooLarge
    } else {
        // Reads at most one byte past the limit, so a huge body is never buffered.
        match axum::body::to_bytes(body, MAX_REQUEST_BODY_BYTES + 1).await {
            Ok(bytes) => InboundBody::from_bytes(bytes),
            Err(_) => InboundBody::TooLarge,
        }
    };
    let client = served
        .trusted_proxy_header
        .as_ref()
        .and_then(|name| from_proxy_header_lines(parts.headers.get_all(name).iter()))
        .unwrap_or(peer.ip());
    parts.extensions.insert(ClientIp(client));
    let response = served
        .gateway
        .handle(axum::http::Request::from_parts(parts, body))
        .await;
    response.map(Body::from)
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(listener: TcpListener, served: Served) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(served).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
