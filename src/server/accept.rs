//! The accept loop: hyper's HTTP/1 connections with a header read timeout, a cap on open
//! connections, the peer address for each request, and graceful shutdown on Ctrl-C or SIGTERM.
//! (`axum::serve` has no knob for the first two.)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::server::settings::ConnectionLimits;
use crate::server::{handle, Response, Served};

/// How long answers in flight may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// A pause after a failed accept (out of file descriptors, ...), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(
    listener: TcpListener,
    served: Served,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        // A slot first, then accept: past the cap, new connections wait in the listen backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = http.serve_connection(TokioIo::new(stream), with_peer(&served, peer));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the caller's (a header timeout, a reset): nothing to answer.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; answers in flight may finish");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open after the shutdown grace period");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The handler, with the connection's peer address.
fn with_peer(
    served: &Served,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = Response,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    let served = served.clone();
    hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        // Boxed: the request's future is a few KB, and hyper moves what it is given; a box
        // moves as a pointer.
        let answer = Box::pin(handle(served.clone(), peer, request));
        async move { Ok::<_, Infallible>(answer.await) }
    })
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
