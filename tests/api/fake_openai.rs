//! `FakeOpenAi`: a scripted OpenAI chat-completions server on a real socket, for testing the OpenAI-compatible
//! provider directly and the whole server end to end (`[providers.fake] base_url = fake.base_url`, model
//! `fake/gpt-4o-mini`).
//!
//! Each request to `POST /v1/chat/completions` takes the next [`FakeResponse`] from a queue (or the fallback
//! when the queue is empty) and is recorded with its headers and JSON body. Streams are written as real
//! `text/event-stream` bytes, one piece per write with a pause between, so a client sees them split wherever the
//! script splits them — mid-JSON or mid-UTF-8 included.
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::Response,
};
use serde_json::{Value, json};

/// The model name the scripted chunks carry.
pub const MODEL: &str = "gpt-4o-mini";
/// `prompt_tokens` in every scripted usage chunk.
pub const PROMPT_TOKENS: u64 = 12;
/// The event that ends an OpenAI stream.
pub const DONE: &str = "data: [DONE]\n\n";

/// What the fake answers one request with.
#[derive(Debug, Clone)]
pub enum FakeResponse {
    /// `200 text/event-stream`: each piece written (and flushed) on its own, `delay` apart, then the body ends.
    Stream { chunks: Vec<Vec<u8>>, delay: Duration },
    /// Any status with a JSON body and extra headers (errors, non-streamed completions, `Retry-After`).
    Json { status: u16, body: Value, headers: Vec<(String, String)> },
    /// Accepts the request and never answers, not even with headers.
    Stall,
    /// Sends `200 text/event-stream` and these pieces, then stays silent with the connection open.
    StallAfter { chunks: Vec<Vec<u8>> },
    /// Sends `200 text/event-stream` and these pieces, then drops the connection mid-body.
    CloseMidStream { chunks: Vec<Vec<u8>> },
}

impl FakeResponse {
    /// A streamed text reply, one content delta per piece (see [`text_chunks`]).
    pub fn text(pieces: &[&str]) -> Self {
        Self::stream(text_chunks(pieces))
    }

    /// A streamed tool call whose arguments arrive in `argument_pieces` (see [`tool_call_chunks`]).
    pub fn tool_call(id: &str, name: &str, argument_pieces: &[&str]) -> Self {
        Self::stream(tool_call_chunks(id, name, argument_pieces))
    }

    /// A stream of whole SSE events, written one per write.
    pub fn stream(events: Vec<String>) -> Self {
        Self::Stream { chunks: events.into_iter().map(String::into_bytes).collect(), delay: Duration::from_millis(2) }
    }

    /// A JSON answer with no extra headers.
    pub fn json(status: u16, body: Value) -> Self {
        Self::Json { status, body, headers: Vec::new() }
    }

    /// An OpenAI-style error: `{"error":{"message","type","param","code"}}`.
    pub fn error(status: u16, message: &str) -> Self {
        let kind = if status >= 500 { "server_error" } else { "invalid_request_error" };
        Self::json(status, json!({"error": {"message": message, "type": kind, "param": null, "code": null}}))
    }

    /// A non-streamed `chat.completion` with this text and these `(id, name, arguments)` tool calls.
    pub fn completion(text: Option<&str>, tool_calls: &[(&str, &str, &str)]) -> Self {
        let calls: Vec<Value> = tool_calls
            .iter()
            .map(|(id, name, arguments)| {
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
            })
            .collect();
        let mut message = json!({"role": "assistant", "content": text, "refusal": null});
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls);
        }
        let finish = if tool_calls.is_empty() { "stop" } else { "tool_calls" };
        let completion_tokens = 7;
        Self::json(
            200,
            json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": MODEL,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
                "usage": usage_json(completion_tokens),
            }),
        )
    }

    /// Adds a response header (to a `Json` response; other kinds are returned unchanged).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Json { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    /// The JSON body (a JSON string holding the raw text if it was not JSON).
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

#[derive(Default)]
struct Script {
    queue: Mutex<VecDeque<FakeResponse>>,
    fallback: Mutex<Option<FakeResponse>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// The running fake; the server stops when this is dropped.
pub struct FakeOpenAi {
    /// `http://127.0.0.1:PORT/v1`, ready for `base_url`.
    pub base_url: String,
    script: Arc<Script>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeOpenAi {
    /// Binds 127.0.0.1:0 and serves until dropped.
    pub async fn start() -> Self {
        let script = Arc::new(Script::default());
        let app = Router::new().fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base_url, script, server }
    }

    /// Queues the answer to a future request (answered in push order).
    pub fn push(&self, response: FakeResponse) {
        self.script.queue.lock().unwrap().push_back(response);
    }

    /// The answer once the queue is empty (by default: a 400 naming the unscripted request).
    pub fn set_fallback(&self, response: FakeResponse) {
        *self.script.fallback.lock().unwrap() = Some(response);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.script.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    let path = uri.path().to_owned();
    let number = {
        let mut requests = script.requests.lock().unwrap();
        requests.push(RecordedRequest { method: method.clone(), path: path.clone(), headers, body });
        requests.len()
    };
    if method != Method::POST || path != "/v1/chat/completions" {
        return respond(FakeResponse::error(404, &format!("fake_openai: no route for {method} {path}"))).await;
    }
    let scripted = script.queue.lock().unwrap().pop_front();
    let response = scripted.or_else(|| script.fallback.lock().unwrap().clone()).unwrap_or_else(|| {
        FakeResponse::error(400, &format!("fake_openai: no scripted response for request {number}"))
    });
    respond(response).await
}

/// How a streamed body ends after its scripted pieces.
#[derive(Clone, Copy)]
enum End {
    Finish,
    Stall,
    Close,
}

async fn respond(response: FakeResponse) -> Response {
    match response {
        FakeResponse::Json { status, body, headers } => {
            let mut builder = Response::builder().status(status).header("content-type", "application/json");
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            builder.body(Body::from(body.to_string())).unwrap()
        }
        FakeResponse::Stall => std::future::pending().await,
        FakeResponse::Stream { chunks, delay } => event_stream(chunks, delay, End::Finish),
        FakeResponse::StallAfter { chunks } => event_stream(chunks, Duration::from_millis(2), End::Stall),
        FakeResponse::CloseMidStream { chunks } => event_stream(chunks, Duration::from_millis(2), End::Close),
    }
}

fn event_stream(chunks: Vec<Vec<u8>>, delay: Duration, end: End) -> Response {
    let body = async_stream::stream! {
        for (i, chunk) in chunks.into_iter().enumerate() {
            if i > 0 {
                // The pause makes hyper flush, so each piece reaches the client as its own write.
                tokio::time::sleep(delay).await;
            }
            yield Ok::<_, std::io::Error>(Bytes::from(chunk));
        }
        match end {
            End::Finish => {}
            End::Stall => std::future::pending::<()>().await,
            End::Close => {
                tokio::time::sleep(delay).await;
                // A body error makes hyper drop the connection without the final chunk.
                yield Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "fake_openai: closed mid-stream"));
            }
        }
    };
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(body))
        .unwrap()
}

/// One SSE event carrying `json`.
pub fn sse(json: &Value) -> String {
    format!("data: {json}\n\n")
}

/// A `chat.completion.chunk` event with these choices and usage, in OpenAI's envelope.
pub fn chunk(choices: Value, usage: Value) -> String {
    sse(&json!({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": MODEL,
        "system_fingerprint": "fp_fake", "choices": choices, "usage": usage,
    }))
}

fn delta(delta: Value, finish_reason: Option<&str>) -> String {
    chunk(json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]), Value::Null)
}

fn usage_json(completion_tokens: u64) -> Value {
    json!({
        "prompt_tokens": PROMPT_TOKENS, "completion_tokens": completion_tokens,
        "total_tokens": PROMPT_TOKENS + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    })
}

/// The usage event OpenAI sends last when asked (`choices: []`); `completion_tokens` as given.
pub fn usage_chunk(completion_tokens: u64) -> String {
    chunk(json!([]), usage_json(completion_tokens))
}

/// A text reply as OpenAI streams it: a role delta, one content delta per piece, a `stop` finish, the usage
/// event (`completion_tokens` = number of pieces), `[DONE]`.
pub fn text_chunks(pieces: &[&str]) -> Vec<String> {
    let mut events = vec![delta(json!({"role": "assistant", "content": "", "refusal": null}), None)];
    events.extend(pieces.iter().map(|piece| delta(json!({"content": piece}), None)));
    events.push(delta(json!({}), Some("stop")));
    events.push(usage_chunk(pieces.len() as u64));
    events.push(DONE.to_owned());
    events
}

/// A tool call as OpenAI streams it: id, name and empty arguments in the first delta, the arguments split over
/// the following ones, a `tool_calls` finish, the usage event with `choices: []`, `[DONE]`.
pub fn tool_call_chunks(id: &str, name: &str, argument_pieces: &[&str]) -> Vec<String> {
    let first = json!({"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}});
    let mut events =
        vec![delta(json!({"role": "assistant", "content": null, "tool_calls": [first], "refusal": null}), None)];
    events.extend(
        argument_pieces
            .iter()
            .map(|piece| delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), None)),
    );
    events.push(delta(json!({}), Some("tool_calls")));
    events.push(usage_chunk(argument_pieces.len() as u64 + 1));
    events.push(DONE.to_owned());
    events
}

/// The events' bytes, concatenated and cut at the given byte offsets (ascending), for split-write tests.
pub fn cut_at(events: &[String], offsets: &[usize]) -> Vec<Vec<u8>> {
    let bytes = events.concat().into_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    for &offset in offsets.iter().filter(|&&offset| offset > 0 && offset < bytes.len()) {
        if offset > start {
            pieces.push(bytes[start..offset].to_vec());
            start = offset;
        }
    }
    pieces.push(bytes[start..].to_vec());
    pieces
}

/// The events' bytes, concatenated and cut every `size` bytes.
pub fn cut_every(events: &[String], size: usize) -> Vec<Vec<u8>> {
    events.concat().into_bytes().chunks(size.max(1)).map(<[u8]>::to_vec).collect()
}
