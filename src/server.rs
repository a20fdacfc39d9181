//! The HTTP server loop: accepts TCP connections and serves the router on each (HTTP/1.1 with upgrades for
//! WebSockets, HTTP/2), with the bounds a public server needs and `axum::serve` does not set:
//! - at most `max_connections` open at once — past it the loop stops accepting (the kernel's backlog holds the
//!   rest), so idle or stalled sockets cannot take every file descriptor;
//! - an HTTP/1 connection must send a request's headers within `header_read_timeout` — that is also how long an
//!   idle keep-alive connection stays open (hyper starts the timer whenever it waits for a request head);
//! - HTTP/2 connections are pinged, so a peer that went away is noticed, and any connection with no request in
//!   flight for `header_read_timeout` is closed (hyper has no idle timeout for HTTP/2, and a client answering
//!   pings would otherwise hold its place for ever);
//! - a connection upgraded to a WebSocket keeps its place: each request carries the connection's [`ConnectionSlot`],
//!   and the WebSocket handler holds it for as long as the socket is open (hyper is done with the connection at
//!   the upgrade).
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

/// A connection's place under `max_connections`, shared by its requests; freed when the last holder drops it.
#[derive(Clone)]
pub struct ConnectionSlot(#[allow(dead_code, reason = "held, never read")] Arc<tokio::sync::OwnedSemaphorePermit>);

/// The HTTP/2 connection preface; a connection whose first bytes are a prefix of it waits for the rest.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Waits (within `deadline`) until the connection has sent enough to tell its protocol: hyper reads the first
/// bytes without a timer of its own, so a client that sends nothing — or half a preface — would hold its place.
async fn sent_a_start(stream: &tokio::net::TcpStream, deadline: tokio::time::Instant) -> bool {
    let mut first = [0u8; 24];
    loop {
        match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return false,
            Ok(Ok(n)) if n >= H2_PREFACE.len() || !H2_PREFACE.starts_with(&first[..n]) => return true,
            // Part of an HTTP/2 preface: the rest is due at once from a real client.
            Ok(Ok(_)) => {
                if tokio::time::Instant::now() >= deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Requests in flight on one connection and when the last one ended.
struct Activity {
    in_flight: std::sync::atomic::AtomicUsize,
    last: std::sync::Mutex<tokio::time::Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            last: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    fn started(&self) {
        self.in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn ended(&self) {
        self.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = tokio::time::Instant::now();
    }

    /// Resolves once nothing has been in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let busy = self.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0;
            if !busy && last.elapsed() >= limit {
                return;
            }
            let wake = if busy { tokio::time::Instant::now() + limit } else { last + limit };
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// Marks a request's end when its response body is done (or dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.ended();
    }
}

/// A response body that ends its request's [`InFlight`] with it.
struct Tracked {
    body: Body,
    _done: InFlight,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

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
        let slot = ConnectionSlot(Arc::new(permit));
        let (builder, watcher, first_bytes) = (builder.clone(), graceful.watcher(), limits.header_read_timeout);
        let router = router.clone();
        tokio::spawn(async move {
            if !sent_a_start(&stream, tokio::time::Instant::now() + first_bytes).await {
                return;
            }
            let activity = Arc::new(Activity::new());
            let (requests, responses) = (activity.clone(), activity.clone());
            let service = router
                .map_request(move |request: Request<Incoming>| {
                    requests.started();
                    let mut request = request.map(Body::new);
                    request.extensions_mut().insert(slot.clone());
                    request
                })
                .map_response(move |response: axum::response::Response| {
                    let done = InFlight(responses.clone());
                    response.map(|body| Body::new(Tracked { body, _done: done }))
                });
            let service = TowerToHyperService::new(service.map_err(|never: Infallible| match never {}));
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::select! {
                served = watcher.watch(connection) => {
                    if let Err(err) = served {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                }
                // Nothing in flight for the whole idle time: the connection is dropped (closed).
                () = activity.idle_for(first_bytes) => tracing::debug!("idle connection closed"),
            }
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
