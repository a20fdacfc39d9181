//! Helpers for conversation tests: opening conversations, sending messages, and reading `text/event-stream`
//! responses with a real SSE parser (`eventsource-stream`, which follows the HTML living standard).
use std::time::Duration;

use eventsource_stream::{Event, EventStream, Eventsource};
use futures_util::{Stream, StreamExt, stream::BoxStream};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub type Events = EventStream<BoxStream<'static, reqwest::Result<axum::body::Bytes>>>;

/// One parsed SSE event with its JSON data.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: String,
    pub event: String,
    pub data: Value,
}

impl From<Event> for SseEvent {
    fn from(e: Event) -> Self {
        Self { id: e.id, event: e.event, data: serde_json::from_str(&e.data).unwrap_or(Value::Null) }
    }
}

impl TestApp {
    /// Opens a conversation with `agent_id` and returns its id.
    pub async fn open_conversation(&self, agent_id: &str) -> String {
        let reply = self.post("/v2/conversations", json!({ "agentId": agent_id })).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// An agent on the echo model and a conversation with it.
    pub async fn echo_conversation(&self) -> (String, String) {
        let agent =
            self.post("/v2/agents", json!({ "name": "echo", "model": "echo", "systemPrompt": "Be brief." })).await;
        assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.text);
        let agent_id = agent.body["id"].as_str().unwrap().to_owned();
        let conversation = self.open_conversation(&agent_id).await;
        (agent_id, conversation)
    }

    /// Sends a streaming request and returns the raw response (status and headers checked by the caller).
    pub async fn stream_request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path)).header("X-API-Key", &self.key);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// `POST /v2/conversations/{id}/messages` with `"stream": true`; asserts an event stream came back.
    pub async fn stream_message(&self, conversation: &str, content: &str) -> Events {
        let response = self
            .stream_request(
                reqwest::Method::POST,
                &format!("/v2/conversations/{conversation}/messages"),
                Some(json!({ "content": content, "stream": true })),
                &[],
            )
            .await;
        events(response)
    }

    /// Runs a subscription over GraphQL-over-SSE (`Accept: text/event-stream`) and returns every `next` payload's
    /// `data` until `complete`.
    pub async fn graphql_sse(&self, query: &str, variables: Value) -> Vec<Value> {
        let response = self
            .client
            .post(self.url("/v2/graphql"))
            .header("X-API-Key", &self.key)
            .header("Accept", "text/event-stream")
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        let mut stream = events(response);
        let mut items = Vec::new();
        loop {
            let event = next_event(&mut stream).await;
            if event.event == "complete" {
                return items;
            }
            assert_eq!(event.event, "next");
            items.push(event.data["data"].clone());
        }
    }

    /// Polls a message until it is no longer queued or in progress.
    pub async fn wait_finished(&self, message_id: &str) -> Value {
        for _ in 0..500 {
            let reply = self.get(&format!("/v2/messages/{message_id}")).await;
            let status = reply.body["status"].as_str().unwrap_or_default().to_owned();
            if status != "queued" && status != "in_progress" {
                return reply.body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("message {message_id} never finished");
    }
}

/// Parses a `text/event-stream` response.
#[track_caller]
pub fn events(response: reqwest::Response) -> Events {
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "content-type {content_type}");
    response.bytes_stream().boxed().eventsource()
}

/// The next event (skipping the initial `retry:`-only block), within ten seconds.
pub async fn next_event(events: &mut (impl Stream<Item = Result<Event, impl std::fmt::Debug>> + Unpin)) -> SseEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("no event within 10 s")
            .expect("stream ended")
            .expect("malformed SSE");
        if !event.event.is_empty() && event.event != "message" || !event.data.is_empty() {
            return event.into();
        }
    }
}

/// Every event up to and including `done`.
pub async fn until_done(
    events: &mut (impl Stream<Item = Result<Event, impl std::fmt::Debug>> + Unpin),
) -> Vec<SseEvent> {
    let mut all = Vec::new();
    loop {
        let event = next_event(events).await;
        let done = event.event == "done";
        all.push(event);
        if done {
            return all;
        }
    }
}

/// The concatenated `message.delta` texts.
pub fn text_of(events: &[SseEvent]) -> String {
    events.iter().filter(|e| e.event == "message.delta").map(|e| e.data["delta"].as_str().unwrap()).collect()
}

/// Asserts ids are 1, 2, 3… from `first`.
#[track_caller]
pub fn assert_sequential(events: &[SseEvent], first: u64) {
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.id, (first + i as u64).to_string(), "event {i} of {events:#?}");
    }
}
