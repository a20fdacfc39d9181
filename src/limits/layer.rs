//! The HTTP side of the limits: one middleware around every metered route.
//!
//! Order matters. The concurrency slot is taken first, so a request refused for concurrency costs no rate; then
//! the rate is charged (1 unit; the batch envelope 0, since each of its operations is charged as it runs
//! through this same layer; a GraphQL operation pays the rest of its complexity in
//! [`super::graphql::CostLimit`]). The response carries the latest state, and its body holds the slot until it
//! ends — an open SSE stream counts as a request in flight for as long as it is open.
use std::{
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};

use super::{Admit, Permit, RateSlot, headers};
use crate::{app::HttpState, auth::Authenticated, error::AppError, rest::problem};

/// Paths outside the metered API: health checks, the OpenAPI document, the playground's static files, and the
/// WebSocket endpoint (it authenticates in `connection_init` and meters itself).
fn metered(path: &str) -> bool {
    (path.starts_with("/v2/") || path == "/graphql") && path != "/v2/openapi.json" && path != "/v2/graphql/ws"
}

pub async fn enforce(State(state): State<HttpState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !metered(path) {
        return next.run(request).await;
    }
    let cost = if path == "/v2/batch" { 0 } else { 1 };
    // Unauthenticated requests pass to their handler, which answers 401.
    let Ok(principal) = state.app.auth.from_headers(request.headers()).await else {
        return next.run(request).await;
    };
    let request_id = problem::request_id(request.headers()).to_owned();
    // A request that may answer with an event stream takes one of the account's stream places first; it keeps it
    // only if it does stream.
    let stream = if may_stream(&request) {
        match state.app.streams.open(&principal.account_id) {
            Ok(guard) => Some(guard),
            Err(err) => return problem::from_app_error(err, &request_id),
        }
    } else {
        None
    };
    let limiter = &state.app.limiter;
    // A batch's operations run under the batch's own slot.
    let needs_slot = request.extensions().get::<crate::rest::batch::BatchOperation>().is_none();
    let (permit, charged) = match limiter.admit(&principal, cost, needs_slot).await {
        Ok(Admit::Admitted { permit, state }) => (permit, state),
        Ok(Admit::TooMany { limit, state }) => {
            let mut response = problem::from_app_error(AppError::ConcurrencyLimited { limit }, &request_id);
            headers::apply(response.headers_mut(), &state);
            return response;
        }
        Ok(Admit::RateLimited { state }) => {
            let retry_after_secs = state.denied().map_or(1, headers::retry_after_secs);
            let mut response = problem::from_app_error(AppError::RateLimited { retry_after_secs }, &request_id);
            headers::apply(response.headers_mut(), &state);
            return response;
        }
        Err(err) => return problem::from_app_error(err, &request_id),
    };
    let slot = RateSlot::new(charged);
    request.extensions_mut().insert(slot.clone());
    request.extensions_mut().insert(Authenticated(principal.clone()));
    let mut response = next.run(request).await;
    let mut latest = slot.get();
    if cost == 0 {
        // The envelope's operations were charged while it ran: report where that left the caller.
        latest = limiter.charge(&principal, 0).await.unwrap_or(latest);
    }
    if latest.denied().is_some() && response.status() != StatusCode::TOO_MANY_REQUESTS {
        // A GraphQL operation whose complexity did not fit: its `rate_limited` error is answered as a 429.
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    headers::apply(response.headers_mut(), &latest);
    let streaming = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let stream = stream.filter(|_| streaming);
    if permit.is_none() && stream.is_none() {
        return response;
    }
    response.map(|body| Body::new(Held { body, _permit: permit, _stream: stream }))
}

/// Whether a request may be answered with an event stream: it asks for one, or its route streams (a stream
/// resume, or a message sent with `stream: true`).
fn may_stream(request: &Request) -> bool {
    let path = request.uri().path();
    let accepts = request
        .headers()
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains("text/event-stream")));
    accepts
        || path.ends_with("/stream")
        || (request.method() == axum::http::Method::POST && path.ends_with("/messages"))
}

/// A response body that keeps a concurrency slot and a stream place until it ends (or the client goes away).
struct Held {
    body: Body,
    _permit: Option<Permit>,
    _stream: Option<super::streams::StreamGuard>,
}

impl HttpBody for Held {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::metered;

    #[test]
    fn the_api_is_metered_and_the_rest_is_not() {
        for path in ["/v2/agents", "/v2/graphql", "/graphql", "/v2/batch", "/v2/conversations/c/messages"] {
            assert!(metered(path), "{path}");
        }
        for path in ["/healthz", "/readyz", "/v2/openapi.json", "/v2/graphql/ws", "/playground/", "/"] {
            assert!(!metered(path), "{path}");
        }
    }
}
