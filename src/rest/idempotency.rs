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

/// A fresh request's key, locked while the request runs.
pub struct Claimed {
    pub db: Db,
    pub account_id: String,
    pub key: String,
    /// How long the answer is remembered, from the key's first use.
    pub ttl: chrono::Duration,
    /// The lock's lease, renewed every third of it while the request runs.
    pub lease: std::time::Duration,
}

/// Runs a fresh request to the end and remembers its answer — even when the client goes away first: `work` runs
/// in a task of its own, which dropping this future (a disconnect) does not cancel. Meanwhile the key's lock is
/// renewed, so it lapses only if this process dies.
pub async fn run_fresh<F>(claimed: Claimed, work: F) -> Response
where
    F: std::future::Future<Output = Response> + Send + 'static,
{
    let (db, account_id, key) = (claimed.db.clone(), claimed.account_id.clone(), claimed.key.clone());
    let renewer = {
        let (db, account_id, key, lease) = (db.clone(), account_id.clone(), key.clone(), claimed.lease);
        let chrono_lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
        tokio::spawn(async move {
            let mut every = tokio::time::interval(lease / 3);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(err) = idempotency::renew(&db, &account_id, &key, chrono_lease).await {
                    tracing::warn!(error = %err, "could not renew an idempotency key's lock");
                }
            }
        })
    };
    // The renewer stops with the work however it ends (an answer, or a panic).
    let renewer = AbortOnDrop(renewer);
    let task = tokio::spawn(async move {
        let _renewer = renewer;
        let response = work.await;
        remember(&claimed, response).await
    });
    match task.await {
        Ok(response) => response,
        Err(err) => {
            // The work panicked: nothing was remembered, so the key is released for a retry.
            if let Err(err) = idempotency::abandon(&db, &account_id, &key).await {
                tracing::warn!(error = %err, "could not release an idempotency key");
            }
            problem::from_app_error(AppError::Internal(anyhow::anyhow!("an idempotent request failed: {err}")), "")
        }
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Stores what a fresh request answered (or forgets the key after a server error, so it can be retried).
async fn remember(claimed: &Claimed, response: Response) -> Response {
    let (db, account_id, key, ttl) = (&claimed.db, claimed.account_id.as_str(), claimed.key.as_str(), claimed.ttl);
    let status = response.status();
    if status.is_server_error() {
        if let Err(err) = idempotency::abandon(db, account_id, key).await {
            tracing::warn!(error = %err, "could not release an idempotency key");
        }
        return response;
    }
    if let Some(StreamOf(reply_id)) = response.extensions().get::<StreamOf>().cloned() {
        let answer = idempotency::Answer {
            status: status.as_u16(),
            body: reply_id,
            content_type: Some(STREAM_CONTENT_TYPE.into()),
        };
        if let Err(err) = idempotency::complete(db, account_id, key, answer, ttl).await {
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
    let answer = idempotency::Answer { status: status.as_u16(), body: text, content_type };
    if let Err(err) = idempotency::complete(db, account_id, key, answer, ttl).await {
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
