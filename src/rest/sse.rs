//! Streaming routes: run the route's start operation (e.g. `sendMessage`, answering errors as JSON before any
//! stream begins), then the `messageStream` subscription of the same schema, written as Server-Sent Events per
//! the HTML living standard: a `retry:` hint first, `id:` = the event's sequence (so `Last-Event-ID` resumes),
//! `event:` = its type, `data:` = its JSON on one line, and comment heartbeats while idle.
use std::{convert::Infallible, time::Duration};

use async_graphql::{Name, Value, Variables, parser::types::ExecutableDocument};
use axum::{
    http::HeaderMap,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::StreamExt;
use serde_json::json;

use super::{
    handler::error_response,
    problem::{self, request_id},
    routes::StreamSpec,
};
use crate::{app::HttpState, auth::Principal, error::AppError, graphql::request_data};

/// How long a client waits before reconnecting (the SSE `retry:` field).
const RETRY: Duration = Duration::from_secs(3);

/// Marks a streaming response with the reply it streams (remembered for `Idempotency-Key` replays).
#[derive(Clone)]
pub struct StreamOf(pub String);

pub struct StreamRequest<'a> {
    pub spec: &'static StreamSpec,
    pub documents: &'a (ExecutableDocument, ExecutableDocument),
    pub variables: Variables,
    pub principal: Principal,
    pub headers: &'a HeaderMap,
    /// The `Idempotency-Key` the start runs under, for it to note the reply on.
    pub claim: Option<crate::services::idempotency::Claim>,
}

/// Starts (or, for `replay_of`, re-opens) a stream and answers `text/event-stream`.
pub async fn respond(state: &HttpState, request: StreamRequest<'_>, replay_of: Option<String>) -> Response {
    let request_id = request_id(request.headers).to_owned();
    let after = match last_event_id(request.headers) {
        Ok(after) => after,
        Err(err) => return problem::from_app_error(err, &request_id),
    };
    let reply_id = match replay_of {
        Some(reply_id) => reply_id,
        None => match start(state, &request, &request_id).await {
            Ok(reply_id) => reply_id,
            Err(response) => return response,
        },
    };
    let mut variables = request.variables;
    variables.insert(Name::new("messageId"), Value::String(reply_id.clone()));
    variables.insert(Name::new("after"), Value::Number(after.into()));
    let mut subscription = async_graphql::Request::new(request.spec.subscription).variables(variables);
    subscription.set_parsed_query(request.documents.1.clone());
    subscription.data = request_data(&state.app, request.principal, None);
    subscription.data.insert(crate::limits::graphql::FlatRate);
    let results = state.schema.execute_stream(subscription);
    let field = request.spec.field;
    let events = async_stream::stream! {
        yield Ok::<_, Infallible>(Event::default().retry(RETRY));
        let mut results = std::pin::pin!(results);
        while let Some(mut result) = results.next().await {
            if let Some(error) = result.errors.first_mut() {
                crate::graphql::errors::annotate_error(error);
                let code = crate::graphql::errors::code_of(error);
                let data = json!({ "code": code, "message": error.message });
                yield Ok(Event::default().event("error").data(data.to_string()));
                if code != "subscription_lagged" {
                    yield Ok(Event::default().event("done").data(json!({ "status": "failed" }).to_string()));
                    break;
                }
                continue;
            }
            let item = result.data.into_json().ok().and_then(|mut data| data.get_mut(field).map(serde_json::Value::take));
            let Some(item) = item else { continue };
            let mut event = Event::default();
            if let Some(sequence) = item.get("sequence").and_then(serde_json::Value::as_u64) {
                event = event.id(sequence.to_string());
            }
            if let Some(name) = item.get("event").and_then(serde_json::Value::as_str) {
                event = event.event(name);
            }
            let data = item.get("data").cloned().unwrap_or(serde_json::Value::Null);
            yield Ok(event.data(data.to_string()));
        }
    };
    let heartbeat = Duration::from_secs(state.app.config.stream_heartbeat_secs.max(1));
    let mut response =
        Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat).text("keep-alive")).into_response();
    // Proxies (nginx) must pass events through as they come.
    response.headers_mut().insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    response.extensions_mut().insert(StreamOf(reply_id));
    response
}

/// Runs the start operation; its result names the reply to stream.
async fn start(state: &HttpState, request: &StreamRequest<'_>, request_id: &str) -> Result<String, Response> {
    let mut start = async_graphql::Request::new(request.spec.start).variables(request.variables.clone());
    start.set_parsed_query(request.documents.0.clone());
    start.data = request_data(&state.app, request.principal.clone(), None);
    start.data.insert(crate::limits::graphql::FlatRate);
    if let Some(claim) = &request.claim {
        start.data.insert(claim.clone());
    }
    let mut response = state.schema.execute(start).await;
    if let Some(problem) = error_response(&mut response, request_id) {
        return Err(problem);
    }
    response
        .data
        .into_json()
        .ok()
        .and_then(|data| data.pointer(request.spec.start_pointer).and_then(|v| v.as_str().map(str::to_owned)))
        .ok_or_else(|| problem::from_app_error(AppError::NotFound { resource: "message" }, request_id))
}

/// `Last-Event-ID`: the sequence of the last event the client has (`7`, or the stable id `msg-…:7`).
fn last_event_id(headers: &HeaderMap) -> Result<u64, AppError> {
    let Some(raw) = headers.get("last-event-id") else { return Ok(0) };
    let text = raw.to_str().unwrap_or("\u{0}").trim();
    if text.is_empty() {
        return Ok(0);
    }
    let sequence = text.rsplit_once(':').map_or(text, |(_, seq)| seq);
    sequence
        .parse::<u64>()
        .ok()
        .filter(|n| *n < 1 << 53)
        .ok_or_else(|| AppError::validation("Last-Event-ID", "must be the `id:` of an event of this stream (e.g. `7`)"))
}

#[cfg(test)]
mod fuzz {
    use super::*;

    #[test]
    fn fuzz_last_event_id() {
        const VOCABULARY: &[&str] =
            &["0", "7", "9", "-", "+", ":", "msg-", " ", "\t", "1e3", "9007199254740993", "é", "\u{0}"];
        crate::fuzz::run("last_event_id", VOCABULARY, |input| {
            let Ok(value) = axum::http::HeaderValue::from_bytes(input) else { return };
            let mut headers = HeaderMap::new();
            headers.insert("last-event-id", value);
            if let Ok(sequence) = last_event_id(&headers) {
                assert!(sequence < 1 << 53, "{sequence}");
            }
        });
    }
}
