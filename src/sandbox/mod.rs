//! An embedded sandbox portal: a real HTTP server that speaks the Bitrix24 REST wire format for
//! `catalog.storeproduct.get` and `catalog.storeproduct.list`, with webhook authentication, the
//! portal's leaky bucket, an operating-time limit, and fault switches for tests.
//!
//! Control API (no auth; loopback only): `GET /_sandbox/health`, `GET /_sandbox/stats`,
//! `POST /_sandbox/control` with `{"fault": "busy"|…|null, "operatingCostSecs": f,
//! "operatingLimitSecs": f}`, `POST /_sandbox/reset`.

mod bucket;
mod command;
pub mod data;
pub mod faults;
mod filter;
mod methods;
mod play;
mod portal;
mod state;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

pub use state::SandboxConfig;

/// Closes the current connection without an answer (the `reset` fault).
#[derive(Clone)]
pub(crate) struct ConnectionKill(Arc<Notify>);

/// A running sandbox.
pub struct Sandbox {
    pub addr: SocketAddr,
    pub config: SandboxConfig,
}

impl Sandbox {
    /// The webhook URL a gateway should use to reach this sandbox. It is a secret like any
    /// other webhook: handle it as a `WebhookUrl`.
    pub fn webhook_url(&self) -> String {
        format!(
            "http://{}/rest/{}/{}/",
            self.addr, self.config.user, self.config.code
        )
    }
}

/// Binds `listen` and serves the sandbox in a background task.
pub async fn spawn(listen: SocketAddr, config: SandboxConfig) -> std::io::Result<Sandbox> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let router = portal::router(Arc::new(state::SandboxState::new(config.clone())));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let router = router.clone();
            tokio::spawn(async move {
                let kill = Arc::new(Notify::new());
                let connection_kill = ConnectionKill(kill.clone());
                let service = hyper::service::service_fn(
                    move |mut request: hyper::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(connection_kill.clone());
                        router.clone().oneshot(request)
                    },
                );
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    // Dropping the connection closes the socket mid-exchange.
                    _ = kill.notified() => {}
                }
            });
        }
    });
    Ok(Sandbox { addr, config })
}
