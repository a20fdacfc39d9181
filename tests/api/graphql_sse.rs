//! GraphQL over Server-Sent Events ("distinct connections mode" of
//! https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md), read by a real event-stream client.
use std::{collections::VecDeque, time::Duration};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt, stream::BoxStream};
use openclaw::auth::Plan;
use reqwest::{
    Method, StatusCode,
    header::{self, HeaderMap},
};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};

const SUBSCRIPTION: &str = "subscription($id: ID) { agentUpdated(id: $id) { id name } }";
const EVENT_STREAM: &str = "text/event-stream";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    event: String,
    data: String,
    id: Option<String>,
}

impl Event {
    /// The `data` of a `next` event: one execution result, on one line.
    #[track_caller]
    fn result(&self) -> Value {
        assert_eq!(self.event, "next", "{self:?}");
        assert!(!self.data.contains('\n'), "data must be single-line JSON: {self:?}");
        serde_json::from_str(&self.data).unwrap()
    }
}

/// An event-stream reader that interprets the body incrementally, as the HTML standard's "Interpreting an event
/// stream" says: lines end with CRLF, LF or CR; `:` starts a comment; `field: value` (one leading space dropped);
/// `data` lines are joined with LF; a blank line dispatches, unless no data was given.
struct EventStream {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    buffer: Vec<u8>,
    event: String,
    data: String,
    last_id: Option<String>,
    comments: Vec<String>,
    ready: VecDeque<Event>,
    ended: bool,
}

impl EventStream {
    fn new(body: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static) -> Self {
        Self {
            body: body.boxed(),
            buffer: Vec::new(),
            event: String::new(),
            data: String::new(),
            last_id: None,
            comments: Vec::new(),
            ready: VecDeque::new(),
            ended: false,
        }
    }

    /// The next event, or `None` once the server has ended the stream; panics after five seconds of waiting.
    async fn next(&mut self) -> Option<Event> {
        self.next_within(Duration::from_secs(5)).await.expect("timed out waiting for an event")
    }

    /// `Err(())` when no event arrived within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Result<Option<Event>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(Some(event));
            }
            if self.ended {
                return Ok(None);
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return Err(()),
                Ok(Some(chunk)) => self.feed(&chunk.unwrap()),
                Ok(None) => {
                    self.ended = true;
                    // A final line without its end of line is discarded, and so is an undispatched event.
                    self.buffer.clear();
                }
            }
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
        loop {
            let Some(end) = self.buffer.iter().position(|b| *b == b'\n' || *b == b'\r') else { return };
            // A CR at the end of the buffer may be the first half of a CRLF.
            if self.buffer[end] == b'\r' && end + 1 == self.buffer.len() {
                return;
            }
            let skip = if self.buffer[end] == b'\r' && self.buffer[end + 1] == b'\n' { 2 } else { 1 };
            let line: Vec<u8> = self.buffer.drain(..end + skip).take(end).collect();
            self.line(&String::from_utf8(line).expect("event streams are UTF-8"));
        }
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            return self.dispatch();
        }
        if let Some(comment) = line.strip_prefix(':') {
            self.comments.push(comment.to_owned());
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            _ => {} // `retry` and unknown fields
        }
    }

    fn dispatch(&mut self) {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the last LF
        let event = if event.is_empty() { "message".to_owned() } else { event };
        self.ready.push_back(Event { event, data, id: self.last_id.clone() });
    }
}

#[test]
fn the_test_parser_follows_the_standard() {
    let mut stream = EventStream::new(futures_util::stream::empty());
    for chunk in [
        &b": hi\r\nevent: next\r"[..],
        b"\ndata:{\"a\":1}\r\rdata: x\nid: 7\n",
        b"\n",
        b"data\n\nevent: complete\ndata:\n\n",
    ] {
        stream.feed(chunk);
    }
    let events: Vec<Event> = stream.ready.drain(..).collect();
    let event = |event: &str, data: &str, id: Option<&str>| Event {
        event: event.to_owned(),
        data: data.to_owned(),
        id: id.map(str::to_owned),
    };
    assert_eq!(
        events,
        vec![
            event("next", "{\"a\":1}", None),
            event("message", "x", Some("7")),
            event("message", "", Some("7")),
            event("complete", "", Some("7")),
        ]
    );
    assert_eq!(stream.comments, vec![" hi".to_owned()]);
}

/// Sends `body` (POST) or `query` (GET) with `Accept: accept`, as `key`.
async fn request(app: &TestApp, method: Method, key: Option<&str>, accept: &str, body: Value) -> reqwest::Response {
    let mut request = app.client.request(method.clone(), app.url("/v2/graphql")).header(header::ACCEPT, accept);
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    request = if method == Method::GET {
        let mut query = vec![("query", body["query"].as_str().unwrap().to_owned())];
        if let Some(variables) = body.get("variables") {
            query.push(("variables", variables.to_string()));
        }
        request.query(&query)
    } else {
        request.json(&body)
    };
    request.send().await.unwrap()
}

/// Opens an event stream for `body`, asserting the protocol's response head.
async fn open(app: &TestApp, method: Method, key: &str, body: Value) -> EventStream {
    let response = request(app, method, Some(key), EVENT_STREAM, body).await;
    assert_event_stream_head(response.status(), response.headers());
    EventStream::new(response.bytes_stream())
}

#[track_caller]
fn assert_event_stream_head(status: StatusCode, headers: &HeaderMap) {
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
}

/// Waits until the server has registered `n` event subscribers, so a following change cannot be missed.
async fn wait_for_subscribers(app: &TestApp, n: usize) {
    for _ in 0..500 {
        if app.state.events.subscriber_count() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} subscribers, the server has {}", app.state.events.subscriber_count());
}

async fn subscriptions_stream_agent_updates(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let mut events = open(&app, Method::POST, &app.key, json!({"query": SUBSCRIPTION, "variables": {"id": id}})).await;
    wait_for_subscribers(&app, 1).await;

    let patched = app.patch(&format!("/v2/agents/{id}"), json!({"name": "renamed"})).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);

    let result = events.next().await.expect("a next event").result();
    assert_eq!(result, json!({"data": {"agentUpdated": {"id": id, "name": "renamed"}}}));
    app.patch(&format!("/v2/agents/{id}"), json!({"name": "again"})).await;
    assert_eq!(events.next().await.unwrap().result()["data"]["agentUpdated"]["name"], "again", "the stream stays open");
}

async fn get_subscribes_when_streaming_but_never_mutates(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let mut events = open(&app, Method::GET, &app.key, json!({"query": SUBSCRIPTION, "variables": {"id": id}})).await;
    wait_for_subscribers(&app, 1).await;
    app.patch(&format!("/v2/agents/{id}"), json!({"name": "over GET"})).await;
    assert_eq!(events.next().await.unwrap().result()["data"]["agentUpdated"]["name"], "over GET");

    let mutation = json!({"query": format!(r#"mutation {{ deleteAgent(id: "{id}") {{ deleted }} }}"#)});
    let response = request(&app, Method::GET, Some(&app.key), EVENT_STREAM, mutation).await;

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");
    assert_eq!(app.get(&format!("/v2/agents/{id}")).await.status, StatusCode::OK, "the mutation did not run");
}

async fn a_query_is_one_next_then_complete(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let query = json!({"query": "query($id: ID!) { agent(id: $id) { id name } }", "variables": {"id": id}});
    let mut events = open(&app, Method::POST, &app.key, query).await;

    let next = events.next().await.expect("a next event");
    let complete = events.next().await.expect("a complete event");
    let end = events.next().await;

    // A query's result reports what it cost (`agent` + two fields); subscription events do not repeat it.
    assert_eq!(
        next.result(),
        json!({"data": {"agent": {"id": id, "name": "客服助手"}}, "extensions": {"cost": {"complexity": 3, "charged": 3}}})
    );
    assert_eq!((complete.event.as_str(), complete.data.as_str()), ("complete", ""));
    assert_eq!(end, None, "the server ends the stream after complete");
}

async fn document_errors_are_json_for_json_clients_and_next_events_otherwise(backend: Backend) {
    let app = spawn_app(backend).await;
    let bad = json!({"query": "subscription { agentUpdated { id noSuchField } }"});

    let response =
        request(&app, Method::POST, Some(&app.key), "text/event-stream, application/json", bad.clone()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json; charset=utf-8");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "graphql_validation_error", "{body}");
    assert!(body.get("data").is_none(), "{body}");

    // A client that accepts nothing but the stream (EventSource does this) gets the errors through it, as the
    // protocol requires.
    let mut events = open(&app, Method::POST, &app.key, bad).await;
    let result = events.next().await.unwrap().result();
    assert_eq!(result["errors"][0]["extensions"]["code"], "graphql_validation_error", "{result}");
    assert!(result.get("data").is_none(), "{result}");
    assert_eq!(events.next().await.unwrap().event, "complete");
    assert_eq!(app.state.events.subscriber_count(), 0);
}

async fn missing_credentials_are_401_json(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = request(&app, Method::POST, None, EVENT_STREAM, json!({"query": SUBSCRIPTION})).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json; charset=utf-8");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "unauthenticated", "{body}");
    assert_eq!(app.state.events.subscriber_count(), 0);
}

async fn resolver_errors_are_next_events_with_a_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let skills_only = app.create_key("tenant-a", Plan::Free, &["skills:read"]).await;

    let mut events = open(&app, Method::POST, &skills_only, json!({"query": SUBSCRIPTION})).await;

    let result = events.next().await.unwrap().result();
    assert_eq!(result["errors"][0]["extensions"]["code"], "forbidden", "{result}");
    assert_eq!(result["errors"][0]["path"], json!(["agentUpdated"]), "{result}");
    assert_eq!(events.next().await.unwrap().event, "complete");
}

async fn subscribers_only_see_their_own_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let ours = app.seed_agent().await;
    let other = app.create_key("other", Plan::Free, &["agents:read", "agents:write", "skills:read"]).await;
    let created = app.send(Method::POST, "/v2/agents", Some(&other), Some(json!({"name": "their agent"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let theirs = created.body["id"].as_str().unwrap().to_owned();
    let mut events = open(&app, Method::POST, &other, json!({"query": SUBSCRIPTION})).await;
    wait_for_subscribers(&app, 1).await;

    app.patch(&format!("/v2/agents/{ours}"), json!({"name": "our change"})).await;
    let path = format!("/v2/agents/{theirs}");
    let patched = app.send(Method::PATCH, &path, Some(&other), Some(json!({"name": "their change"}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);

    // Events arrive in order, so ours would come first had it leaked.
    let result = events.next().await.unwrap().result();
    assert_eq!(result["data"]["agentUpdated"], json!({"id": theirs, "name": "their change"}), "{result}");
    assert_eq!(events.next_within(Duration::from_millis(200)).await, Err(()), "nothing else arrives");
}

async fn disconnecting_drops_the_subscription(backend: Backend) {
    let app = spawn_app(backend).await;
    let events = open(&app, Method::POST, &app.key, json!({"query": SUBSCRIPTION})).await;
    wait_for_subscribers(&app, 1).await;

    drop(events);

    wait_for_subscribers(&app, 0).await;
}

crate::db_tests!(
    subscriptions_stream_agent_updates,
    get_subscribes_when_streaming_but_never_mutates,
    a_query_is_one_next_then_complete,
    document_errors_are_json_for_json_clients_and_next_events_otherwise,
    missing_credentials_are_401_json,
    resolver_errors_are_next_events_with_a_code,
    subscribers_only_see_their_own_tenant,
    disconnecting_drops_the_subscription,
);
