//! The HTTP server loop: accepts TCP connections and serves the router on each (HTTP/1.1 with upgrades for
//! WebSockets, HTTP/2), with the bounds a public server needs and `axum::serve` does not set:
//! - at most `max_connections` open at once — past it the loop stops accepting (the kernel's backlog holds the
//!   rest), so idle or stalled sockets cannot take every file descriptor;
//! - an HTTP/1 connection must send a request's headers within `header_read_timeout` — that is also how long an
//!   idle keep-alive connection stays open (hyper starts the timer whenever it waits for a request head);
//! - HTTP/2 connections are pinged, so a peer that went away is noticed.
//! Request bodies have their own timeout (a layer of the router, see `app::build_router`).
use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::Request};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// Connection bounds (from `Config`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Serves until `shutdown` resolves, then lets open connections finish for up to `grace` and closes the rest.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        // WebSockets over HTTP/2 (RFC 8441), as axum's own server allows.
        .enable_connect_protocol()
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors or a connection reset before accept: wait a moment, keep serving.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(|request: Request<Incoming>| request.map(Body::new));
        let service = TowerToHyperService::new(service.map_err(|never: Infallible| match never {}));
        let (builder, watcher, first_bytes) = (builder.clone(), graceful.watcher(), limits.header_read_timeout);
        tokio::spawn(async move {
            // hyper reads the first bytes (to tell HTTP/1 from HTTP/2) without a timer of its own: a client that
            // connects and sends nothing is let go here.
            let mut first = [0u8; 1];
            if !matches!(tokio::time::timeout(first_bytes, stream.peek(&mut first)).await, Ok(Ok(1..))) {
                drop(permit);
                return;
            }
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(err) = watcher.watch(connection).await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    // Open event streams and subscriptions never end on their own: after the grace period they are cut (clients
    // resume with Last-Event-ID; replies still running are marked interrupted on the next start).
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(grace_secs = grace.as_secs(), "shutdown grace period over; closing open streams");
    }
    Ok(())
}
