//! An embedded sandbox portal: a real HTTP server that speaks the Bitrix24 REST wire format for
//! `catalog.storeproduct.get`, `catalog.storeproduct.list` and `batch`, with webhook
//! authentication, the portal's leaky bucket, an operating-time limit, and fault switches for
//! tests.
//!
//! `batch` (`batch.rs`) takes `{"halt":0,"cmd":{KEY:"method?query"}}` (or `cmd` as an array, or a
//! PHP-style form body), at most 50 commands, as one request of the bucket; each command is
//! charged its own operating time. Faults inside a batch play by class (`faults.rs`).
//!
//! Control API (no auth; loopback only): `GET /_sandbox/health`, `GET /_sandbox/stats` (see
//! `state::Stats`: `requests`, `calls` by method with "batch" for batches, `commands` run inside
//! batches by method, `getCallsById` direct or batched, `queryLimitExceeded`,
//! `operationTimeLimit`, `rejectedCredentials`, `lastBody`, `lastBatchCommands`),
//! `POST /_sandbox/control` with `{"fault": "busy"|…|null, "operatingCostSecs": f,
//! "operatingLimitSecs": f, "answerDelayMs": n, "batchReferences": bool}`,
//! `POST /_sandbox/reset`.

mod batch;
mod bucket;
mod command;
pub mod data;
pub mod faults;
mod filter;
pub mod inventory;
mod methods;
mod php_array;
mod php_query;
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
