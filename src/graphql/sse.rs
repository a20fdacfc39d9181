//! GraphQL over Server-Sent Events, the protocol's "distinct connections mode"
//! (<https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md>): one operation per request, each result a
//! `next` event, then one `complete` event. The framing follows the HTML standard's event-stream format, and idle
//! streams carry a comment every [`KEEP_ALIVE_INTERVAL`] so proxies and load balancers keep them open.
//!
//! Nothing is spawned: the response body owns the execution stream, so a client that goes away drops its
//! subscription (and its event-bus receiver) with the connection.
use std::{convert::Infallible, task::Poll, time::Duration};

use async_graphql::Response as GqlResponse;
use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use futures_util::{Stream, StreamExt, stream::BoxStream};

/// How long a stream may stay silent before a keep-alive comment goes out.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";
/// `complete` carries an empty `data` line: an event without data is never dispatched by `EventSource`.
const COMPLETE: &[u8] = b"event: complete\ndata:\n\n";
const TEXT_EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

/// One event: `event: <name>`, then one `data:` line per line of `data` (a line break inside a field would end it).
pub fn event(name: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(name.len() + data.len() + 16);
    out.push_str("event: ");
    out.push_str(name);
    out.push('\n');
    let normalized;
    let data = if data.contains('\r') {
        normalized = data.replace("\r\n", "\n");
        normalized.as_str()
    } else {
        data
    };
    for line in data.split(['\r', '\n']) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// Passes `events` through, and sends a comment whenever nothing went out for `interval`.
pub fn with_keep_alive<S>(events: S, interval: Duration) -> impl Stream<Item = Bytes> + Send + 'static
where
    S: Stream<Item = Bytes> + Send + 'static,
{
    async_stream::stream! {
        let mut events = std::pin::pin!(events);
        loop {
            // Dropping `next()` on timeout loses nothing: the stream keeps its place.
            match tokio::time::timeout(interval, events.next()).await {
                Ok(Some(event)) => yield event,
                Ok(None) => break,
                Err(_) => yield Bytes::from_static(KEEP_ALIVE),
            }
        }
    }
}

/// `200 text/event-stream`: each of `results` (single-line JSON execution results) as a `next` event, then
/// `complete`, with keep-alive comments while idle.
pub fn respond(results: impl Stream<Item = String> + Send + 'static) -> Response {
    let events = results
        .map(|json| event("next", &json))
        .chain(futures_util::stream::once(async { Bytes::from_static(COMPLETE) }));
    let body = Body::from_stream(with_keep_alive(events, KEEP_ALIVE_INTERVAL).map(Ok::<_, Infallible>));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_EVENT_STREAM));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx buffers proxied responses unless told not to, which would hold events back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The first result of an execution stream, if it is there without waiting for events. A query or mutation is
/// awaited. A subscription is polled once: async-graphql validates it and runs its resolver up to the event source in
/// that poll, so a result ready then is an error of the request or the resolver, and `Pending` means it is live.
pub async fn first_result(
    results: &mut BoxStream<'static, GqlResponse>,
    subscription: bool,
) -> Poll<Option<GqlResponse>> {
    if subscription {
        std::future::poll_fn(|cx| Poll::Ready(results.poll_next_unpin(cx))).await
    } else {
        Poll::Ready(results.next().await)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::stream;
    use tokio::time::{Instant, sleep};

    use super::*;

    #[test]
    fn events_follow_the_event_stream_format() {
        assert_eq!(event("next", r#"{"data":{}}"#), Bytes::from_static(b"event: next\ndata: {\"data\":{}}\n\n"));
        assert_eq!(
            event("next", "a\nb\r\nc\rd"),
            Bytes::from_static(b"event: next\ndata: a\ndata: b\ndata: c\ndata: d\n\n")
        );
    }

    // tokio's paused clock needs its `test-util` feature, which this crate does not enable; these tests run on the
    // real clock with a short interval and assert only what holds however slow the machine is.
    const INTERVAL: Duration = Duration::from_millis(40);

    #[tokio::test]
    async fn idle_streams_get_a_comment_every_interval() {
        let events = stream::once(async { Bytes::from_static(b"first") }).chain(stream::pending());
        let start = Instant::now();
        let seen: Vec<Bytes> = with_keep_alive(events, INTERVAL).take(3).collect().await;
        let keep_alive = Bytes::from_static(KEEP_ALIVE);
        assert_eq!(seen, vec![Bytes::from_static(b"first"), keep_alive.clone(), keep_alive]);
        assert!(start.elapsed() >= 2 * INTERVAL, "one comment per interval of silence, not sooner");
    }

    #[tokio::test]
    async fn busy_streams_get_no_comment_and_the_end_passes_through() {
        let events = stream::iter([b"a", b"b", b"c"]).map(|b| Bytes::from_static(b));
        let seen: Vec<Bytes> = with_keep_alive(events, INTERVAL).collect().await;
        assert_eq!(seen, vec![Bytes::from_static(b"a"), Bytes::from_static(b"b"), Bytes::from_static(b"c")]);
    }

    #[tokio::test]
    async fn the_silence_is_measured_from_the_last_event() {
        // Eight events a quarter interval apart span two intervals: a fixed ticker would have interjected twice.
        let interval = Duration::from_millis(200);
        let events = stream::iter(0..8u8).then(move |i| async move {
            sleep(interval / 4).await;
            Bytes::from(vec![i])
        });
        let start = Instant::now();
        let seen: Vec<Bytes> = with_keep_alive(events, interval).collect().await;
        assert!(start.elapsed() >= 2 * interval);
        assert_eq!(seen, (0..8u8).map(|i| Bytes::from(vec![i])).collect::<Vec<_>>());
    }
}
