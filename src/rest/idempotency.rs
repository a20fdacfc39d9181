//! `Idempotency-Key` on every POST route: the response of the first request is remembered and replayed for
//! retries with the same key and body (`Idempotent-Replayed: true`). A streamed response is remembered as the
//! reply it streamed, and a retry gets that reply's stream from the start (or from `Last-Event-ID`).
use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    handler::{Call, CompiledRoute, respond},
    problem,
    routes::Route,
    sse::StreamOf,
};
use crate::{
    app::HttpState,
    auth::Principal,
    db::Db,
    error::AppError,
    services::idempotency::{self, Remembered},
};

const STREAM_CONTENT_TYPE: &str = "text/event-stream";

/// The key of a POST call, validated; `None` without the header or on other methods.
pub fn key_of(route: &Route, headers: &HeaderMap) -> Result<Option<String>, AppError> {
    if route.method != Method::POST {
        return Ok(None);
    }
    let Some(raw) = headers.get("idempotency-key") else { return Ok(None) };
    let key = raw.to_str().map_err(|_| AppError::validation("Idempotency-Key", "must be visible ASCII"))?;
    idempotency::validate_key(key)?;
    Ok(Some(key.to_owned()))
}

/// Stores what a fresh request answered (or forgets the key after a server error, so it can be retried).
pub async fn remember(db: &Db, account_id: &str, key: &str, response: Response) -> Response {
    let status = response.status();
    if status.is_server_error() {
        if let Err(err) = idempotency::abandon(db, account_id, key).await {
            tracing::warn!(error = %err, "could not release an idempotency key");
        }
        return response;
    }
    if let Some(StreamOf(reply_id)) = response.extensions().get::<StreamOf>().cloned() {
        let stored =
            idempotency::complete(db, account_id, key, status.as_u16(), reply_id, Some(STREAM_CONTENT_TYPE.into()));
        if let Err(err) = stored.await {
            tracing::warn!(error = %err, "could not remember an idempotent stream");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    // Non-streaming bodies are already complete in memory; collecting them is immediate.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => return problem::from_app_error(AppError::Internal(anyhow::anyhow!("unreadable body")), ""),
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if let Err(err) = idempotency::complete(db, account_id, key, status.as_u16(), text, content_type).await {
        tracing::warn!(error = %err, "could not remember an idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Answers a retry with the remembered response.
pub async fn replay(
    state: &HttpState,
    compiled: &CompiledRoute,
    call: &Call,
    bytes: axum::body::Bytes,
    principal: Principal,
    remembered: Remembered,
) -> Response {
    let Remembered { status, body, content_type } = remembered;
    let mut response = if content_type.as_deref() == Some(STREAM_CONTENT_TYPE) {
        respond(state, compiled, call, bytes, principal, Some(body)).await
    } else {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let mut response = (status, body).into_response();
        if let Some(value) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    };
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
