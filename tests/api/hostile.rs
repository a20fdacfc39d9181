//! Hostile requests that took the server down before (issue 14): each answers a clear 4xx within a bound, the
//! server keeps serving, and memory stays bounded. The server runs in this test's process, so its RSS is ours.
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    helpers::{Backend, TestApp, read, spawn_app, spawn_app_with},
    websocket::{connect, next_json, send},
};

/// This process's resident set size, in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

async fn assert_alive(app: &TestApp) {
    let started = Instant::now();
    let health = read(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2), "healthz took {:?}", started.elapsed());
}

fn nested_list(depth: usize) -> String {
    format!("{{ viewer(x: {}1{}) {{ plan }} }}", "[".repeat(depth), "]".repeat(depth))
}

/// The first GraphQL error's code of a GraphQL response body.
fn gql_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
}

/// A GraphQL multipart request (the multipart request spec), answered as `application/graphql-response+json`.
async fn post_graphql_multipart(app: &TestApp, form: reqwest::multipart::Form) -> crate::helpers::Reply {
    let request = app
        .client
        .post(app.url("/v2/graphql"))
        .header("X-API-Key", &app.key)
        .header("Accept", "application/graphql-response+json")
        .multipart(form);
    read(request.send().await.unwrap()).await
}

async fn post_graphql(app: &TestApp, body: Value, accept: &str) -> crate::helpers::Reply {
    let request =
        app.client.post(app.url("/v2/graphql")).header("X-API-Key", &app.key).header("Accept", accept).json(&body);
    read(request.send().await.unwrap()).await
}

async fn deep_documents_are_refused_on_every_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let gql_json = "application/graphql-response+json";
    let documents = [
        nested_list(2000),
        format!("{{ viewer(x: {}) {{ plan }} }}", "{a: ".repeat(2000) + &"}".repeat(2000)),
        format!("query($v: [[Int]] = {}) {{ viewer {{ plan }} }}", "[".repeat(2000) + &"]".repeat(2000)),
        format!("{}{}", "{ a ".repeat(2000), "}".repeat(2000)),
    ];
    for document in &documents {
        // POST
        let reply = post_graphql(&app, json!({ "query": document }), gql_json).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(gql_code(&reply.body), "query_too_deep", "{}", reply.text);
        // GET
        let url = format!(
            "/v2/graphql?query={}",
            percent_encoding::utf8_percent_encode(document, percent_encoding::NON_ALPHANUMERIC)
        );
        let reply = read(
            app.client
                .get(app.url(&url))
                .header("X-API-Key", &app.key)
                .header("Accept", gql_json)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(gql_code(&reply.body), "query_too_deep");
        // A batch (an array of operations)
        let reply =
            post_graphql(&app, json!([{ "query": "{ viewer { plan } }" }, { "query": document }]), "application/json")
                .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body[0]["data"]["viewer"]["plan"], "FREE");
        assert_eq!(gql_code(&reply.body[1]), "query_too_deep", "{}", reply.text);
        // GraphQL over SSE (errors of the document come before the stream, as a 4xx)
        let reply = post_graphql(&app, json!({ "query": document }), "text/event-stream, application/json").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(gql_code(&reply.body), "query_too_deep");
        // Multipart
        let operations = json!({ "query": document }).to_string();
        let form = reqwest::multipart::Form::new().text("operations", operations).text("map", "{}");
        let reply = post_graphql_multipart(&app, form).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(gql_code(&reply.body), "query_too_deep");
    }
    // Both WebSocket protocols: the subscription fails with the code; the connection and the server stay up.
    for (protocol, start) in [("graphql-transport-ws", "subscribe"), ("graphql-ws", "start")] {
        let mut ws = connect(&app, protocol).await;
        send(&mut ws, json!({"type": "connection_init", "payload": {"X-API-Key": app.key}})).await;
        assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
        send(&mut ws, json!({"id": "1", "type": start, "payload": {"query": nested_list(2000)}})).await;
        // async-graphql answers errors of the document as an `error` message or as a result without data.
        let message = next_json(&mut ws).await;
        let payload = &message["payload"];
        let error = if payload.is_array() {
            &payload[0]
        } else if payload["errors"].is_array() {
            &payload["errors"][0]
        } else {
            payload
        };
        assert_eq!(error["extensions"]["code"], "query_too_deep", "{message}");
        assert!(payload["data"].is_null(), "{message}");
    }
    // Within the limits, nesting still works.
    let fine = post_graphql(&app, json!({ "query": "{ viewer { plan } }" }), gql_json).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.text);
    assert_alive(&app).await;
}

async fn validation_work_is_bounded_and_charged(backend: Backend) {
    let app = spawn_app(backend).await;
    let gql_json = "application/graphql-response+json";
    // 2^28 fields from about a kilobyte of fragments.
    let mut bomb = String::from("query { ...F0 }\n");
    for i in 0..28 {
        bomb.push_str(&format!("fragment F{i} on Query {{ ...F{n} ...F{n} }}\n", n = i + 1));
    }
    bomb.push_str("fragment F28 on Query { viewer { plan } }\n");
    let started = Instant::now();
    let (a, b) = tokio::join!(
        post_graphql(&app, json!({ "query": bomb }), gql_json),
        post_graphql(&app, json!({ "query": bomb }), gql_json)
    );
    for reply in [a, b] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(gql_code(&reply.body), "query_too_large", "{}", reply.text);
    }
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_alive(&app).await;

    // 50,000 aliases are refused before validation's quadratic work starts.
    let aliases: String = (0..50_000).map(|i| format!("a{i}: __typename ")).collect();
    let started = Instant::now();
    let reply = post_graphql(&app, json!({ "query": format!("{{ {aliases} }}") }), gql_json).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(gql_code(&reply.body), "query_too_large");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    // Fragment cycles are refused (and do not hang the counting).
    let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
    let reply = post_graphql(&app, json!({ "query": cycle }), gql_json).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);

    // Within the limits, aliases are charged as the fields they are, not as one.
    let aliases: String = (0..1_500).map(|i| format!("a{i}: __typename ")).collect();
    let reply = post_graphql(&app, json!({ "query": format!("{{ {aliases} }}") }), gql_json).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let charged = reply.body["extensions"]["cost"]["complexity"].as_u64().unwrap();
    assert!(charged >= 1_500, "charged {charged}");

    // The standard introspection query still runs.
    let introspection = include_str!("../fuzz/graphql_documents/introspection.graphql");
    let reply = post_graphql(&app, json!({ "query": introspection }), gql_json).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.body["data"]["__schema"]["types"].as_array().is_some_and(|t| t.len() > 20));
    assert_alive(&app).await;
}

/// A body that sends `first` and then never ends.
fn endless_body(first: Vec<u8>) -> reqwest::Body {
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) })
        .chain(futures_util::stream::pending());
    reqwest::Body::wrap_stream(stream)
}

async fn multipart_is_authenticated_before_it_is_read(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.body_limit_bytes = 64 * 1024).await;
    let boundary = "XyZ";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{{\"query\":\"{}",
        "a".repeat(1024 * 1024)
    );
    // No credentials: answered at once, though the body never ends.
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        app.client
            .post(app.url("/v2/graphql"))
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(endless_body(head.clone().into_bytes()))
            .send(),
    )
    .await
    .expect("an unauthenticated multipart request is answered without reading its body")
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() < Duration::from_secs(5));

    // With credentials, `operations` is held to the JSON body limit, not the file limit.
    let before = rss_bytes();
    let huge = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{{\"query\":\"{}\"}}\r\n--{boundary}--\r\n",
        "a".repeat(8 * 1024 * 1024)
    );
    let reply = read(
        app.client
            .post(app.url("/v2/graphql"))
            .header("X-API-Key", &app.key)
            .header("Accept", "application/graphql-response+json")
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(huge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", reply.text);
    assert_eq!(gql_code(&reply.body), "payload_too_large");
    assert!(rss_bytes().saturating_sub(before) < 100 * 1024 * 1024, "RSS grew by {} bytes", rss_bytes() - before);

    // Parts out of the spec's order are refused before any file is stored.
    let form = reqwest::multipart::Form::new()
        .part("0", reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"))
        .text(
            "operations",
            json!({"query": "mutation($f: Upload!) { uploadFile(file: $f) { id } }", "variables": {"f": null}})
                .to_string(),
        )
        .text("map", json!({"0": ["variables.f"]}).to_string());
    let reply = post_graphql_multipart(&app, form).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(gql_code(&reply.body), "invalid_multipart");
    assert_eq!(app.get("/v2/files").await.body["pagination"]["total"], 0);

    // A `map` naming one file at thousands of paths (each would hold a descriptor) is refused.
    let paths: Vec<String> = (0..100).map(|i| format!("variables.f{i}")).collect();
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({"query": "mutation($f: Upload!) { uploadFile(file: $f) { id } }", "variables": {"f": null}})
                .to_string(),
        )
        .text("map", json!({"0": paths}).to_string())
        .part("0", reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let reply = post_graphql_multipart(&app, form).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(gql_code(&reply.body), "invalid_multipart");

    // The REST upload's text parts are short words, not buffers.
    let form = reqwest::multipart::Form::new()
        .text("purpose", "x".repeat(2 * 1024 * 1024))
        .part("file", reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    // The server answers as soon as the part passes its limit, so the client may still be writing: a 4xx or a
    // connection cut short, never a stored file.
    let sent =
        reqwest::Client::new().post(app.url("/v2/files")).header("X-API-Key", &app.key).multipart(form).send().await;
    if let Ok(response) = sent {
        let reply = read(response).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.code(), "invalid_multipart", "{}", reply.text);
    }
    assert_eq!(app.get("/v2/files").await.body["pagination"]["total"], 0);
    assert_alive(&app).await;
}

async fn batch_references_cannot_multiply_memory(backend: Backend) {
    let app = spawn_app(backend).await;
    let prompt = "p".repeat(100_000);
    let repeated: Vec<Value> = (0..8_000).map(|_| json!("{{0.body.systemPrompt}}")).collect();
    let batch = json!({"operations": [
        {"method": "POST", "path": "/agents", "body": {"name": "big", "model": "echo", "systemPrompt": prompt}},
        {"method": "PATCH", "path": "/agents/{{0.body.id}}", "body": {"metadata": {"x": repeated}}},
        {"method": "GET", "path": "/agents/{{0.body.id}}"}
    ]});
    let before = rss_bytes();
    let started = Instant::now();
    let reply = app.post("/v2/batch", batch).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let results = &reply.body["results"];
    assert_eq!(results[0]["status"], 201, "{}", reply.text);
    assert_eq!(results[1]["status"], 400);
    assert_eq!(results[1]["body"]["error"]["code"], "invalid_operation");
    assert!(results[1]["body"]["error"]["message"].as_str().unwrap().contains("resolve to more than"));
    assert_eq!(results[2]["status"], 200, "later operations still run");
    assert!(started.elapsed() < Duration::from_secs(10));
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 200 * 1024 * 1024, "RSS grew by {grown} bytes");
    assert_alive(&app).await;
}

/// Reads from a raw socket until the server closes it; returns what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration, what: &str) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut received)).await;
    assert!(
        read.is_ok(),
        "the server did not close the {what} connection; received {:?}",
        String::from_utf8_lossy(&received)
    );
    String::from_utf8_lossy(&received).into_owned()
}

async fn stalled_and_idle_connections_are_closed(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.http_header_read_timeout_ms = 300;
        c.http_body_read_timeout_ms = 300;
        c.ws_connection_init_timeout_ms = 300;
    })
    .await;
    // Idle: never sends a byte.
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // Half-sent headers.
    let mut half_head = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    half_head.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // Half-sent body.
    let mut half_body = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v2/agents HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"name\":",
        app.key
    );
    half_body.write_all(head.as_bytes()).await.unwrap();
    // A keep-alive connection that went quiet after one request.
    let mut keep_alive = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    keep_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();

    assert_eq!(read_until_closed(&mut idle, Duration::from_secs(5), "idle").await, "");
    let answer = read_until_closed(&mut half_head, Duration::from_secs(5), "half_head").await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    let answer = read_until_closed(&mut half_body, Duration::from_secs(5), "half_body").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "a half-sent body is answered 408: {answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    // A body that trickles in (a byte every 100 ms, never pausing past the stall timeout) is cut off at the
    // deadline too.
    let mut trickle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v2/agents HTTP/1.1\r\nHost: x\r\nX-API-Key: {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        app.key
    );
    trickle.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let answer = loop {
        if trickle.write_all(b" ").await.is_err() || started.elapsed() > Duration::from_secs(5) {
            break read_until_closed(&mut trickle, Duration::from_secs(5), "trickle").await;
        }
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(100), trickle.read(&mut buf)).await {
            break String::from_utf8_lossy(&buf[..n]).into_owned();
        }
    };
    assert!(answer.starts_with("HTTP/1.1 408"), "a trickling body is cut off: {answer}");
    // An HTTP/2 connection with nothing in flight is closed after the idle time, though it would answer pings.
    let mut h2_idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    h2_idle.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").await.unwrap();
    let _ = read_until_closed(&mut h2_idle, Duration::from_secs(5), "h2_idle").await;
    // Half an HTTP/2 preface does not hold a connection either.
    let mut half_preface = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    half_preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    assert_eq!(read_until_closed(&mut half_preface, Duration::from_secs(5), "half_preface").await, "");
    let answer = read_until_closed(&mut keep_alive, Duration::from_secs(5), "keep_alive").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(app.get("/v2/agents").await.body["agents"].as_array().unwrap().is_empty(), "nothing was created");

    // A legacy `graphql-ws` socket that never sends connection_init is closed like a graphql-transport-ws one.
    for protocol in ["graphql-ws", "graphql-transport-ws"] {
        let mut ws = connect(&app, protocol).await;
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                    _ => return None,
                }
            }
        })
        .await
        .expect("closed in time");
        assert_eq!(closed, Some(4408), "{protocol}");
        let _ = ws.close(None).await;
    }
    assert_alive(&app).await;
}

async fn connections_are_capped(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.max_connections = 4).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        // Each connection is accepted and served (so it holds its place).
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 12];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        held.push(stream);
    }
    // The fifth waits in the kernel's backlog: not served while four are open...
    let fifth = tokio::spawn({
        let url = app.url("/healthz");
        async move { reqwest::Client::new().get(url).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!fifth.is_finished(), "a fifth connection was served while four were open");
    // ...and served as soon as one closes.
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(5), fifth).await.expect("served once a place frees").unwrap();
    assert_eq!(status.unwrap(), StatusCode::OK);
    // An upgraded WebSocket keeps its connection's place: with three held and one socket open, a fifth
    // connection waits again.
    let ws = connect(&app, "graphql-transport-ws").await;
    let waiting = tokio::spawn({
        let url = app.url("/healthz");
        async move { reqwest::Client::new().get(url).send().await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "a WebSocket does not count against the connection cap");
    drop(ws);
    let status =
        tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("served once the socket closes").unwrap();
    assert_eq!(status.unwrap(), StatusCode::OK);
}

/// Retries `post` while the first request still holds the key (409), up to `within`.
async fn retry_while_in_use<F, Fut>(within: Duration, post: F) -> crate::helpers::Reply
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = crate::helpers::Reply>,
{
    let deadline = Instant::now() + within;
    loop {
        let reply = post().await;
        if reply.status != StatusCode::CONFLICT || Instant::now() > deadline {
            return reply;
        }
        assert_eq!(reply.code(), "idempotency_key_in_use", "{}", reply.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_idempotent_request_finishes_when_its_client_leaves(backend: Backend) {
    // Each echo token takes 20 ms: the reply takes well over the client's 300 ms patience.
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 20).await;
    let agent = app.seed_agent().await;
    let conversation =
        app.post("/v2/conversations", json!({"agentId": agent})).await.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v2/conversations/{conversation}/messages");
    let body = json!({"content": "tell me a rather long story about the sea and the ships upon it", "stream": false});
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let gone = impatient
        .post(app.url(&path))
        .header("X-API-Key", &app.key)
        .header("Idempotency-Key", "leaves-early")
        .json(&body)
        .send()
        .await;
    assert!(gone.is_err(), "the client was meant to give up before the reply");
    let post = || {
        let request = app
            .client
            .post(app.url(&path))
            .header("X-API-Key", &app.key)
            .header("Idempotency-Key", "leaves-early")
            .json(&body);
        async move { read(request.send().await.unwrap()).await }
    };
    let retry = retry_while_in_use(Duration::from_secs(20), post).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.headers["idempotent-replayed"], "true", "the first request's answer was remembered");
    assert_eq!(retry.body["reply"]["status"], "completed", "{}", retry.text);
    let messages = app.get(&path).await.body["messages"].as_array().unwrap().len();
    assert_eq!(messages, 2, "one message and one reply: the work was done once");
}

async fn a_dead_owners_idempotency_lock_lapses(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = openclaw::services::accounts::find_or_create(&app.state.db, "tenant-a", openclaw::auth::Plan::Free)
        .await
        .unwrap();
    // A process took the key and died before answering: it will never renew or complete it.
    let body = json!({"name": "once", "model": "echo"});
    let fingerprint =
        openclaw::services::idempotency::Fingerprint::of("POST", "/v2/agents", body.to_string().as_bytes());
    let begun = openclaw::services::idempotency::begin(
        &app.state.db,
        &account.id,
        "orphan",
        &fingerprint,
        chrono::Duration::seconds(1),
    )
    .await
    .unwrap();
    assert!(matches!(begun, openclaw::services::idempotency::Begin::Fresh));
    let post = || {
        let request = app
            .client
            .post(app.url("/v2/agents"))
            .header("X-API-Key", &app.key)
            .header("Idempotency-Key", "orphan")
            .json(&body);
        async move { read(request.send().await.unwrap()).await }
    };
    post().await.assert_error(409, "idempotency_key_in_use");
    let fresh = retry_while_in_use(Duration::from_secs(10), post).await;
    assert_eq!(fresh.status, StatusCode::CREATED, "the lapsed lock is taken over: {}", fresh.text);
    let again = post().await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], fresh.body["id"]);
}

async fn open_streams_are_capped_per_account(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.max_streams_per_account = 2).await;
    let subscribe = || {
        app.client
            .post(app.url("/v2/graphql"))
            .header("X-API-Key", &app.key)
            .header("Accept", "text/event-stream")
            .json(&json!({"query": "subscription { agentUpdated { id } }"}))
            .send()
    };
    let first = subscribe().await.unwrap();
    let second = subscribe().await.unwrap();
    assert_eq!((first.status(), second.status()), (StatusCode::OK, StatusCode::OK));
    let third = read(subscribe().await.unwrap()).await;
    third.assert_error(429, "concurrency_limited");
    // A WebSocket counts too.
    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"X-API-Key": app.key}})).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return true,
                Some(Ok(Message::Text(text))) if text.contains("connection_ack") => return false,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("answered in time");
    assert!(closed, "a WebSocket past the account's stream cap is refused");
    // Other requests are not streams and still pass; a closed stream frees its place.
    assert_eq!(app.get("/v2/agents").await.status, StatusCode::OK);
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    let fourth = loop {
        let reply = subscribe().await.unwrap();
        if reply.status() == StatusCode::OK || Instant::now() > deadline {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(fourth.status(), StatusCode::OK, "the closed stream's place came back");
    drop((second, fourth));
}

async fn numbers_the_database_could_not_read_back_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let body = |x: f64| json!({"agentId": agent, "context": {"metadata": {"x": x}}});
    let refused = app.post("/v2/conversations", body(f64::MIN)).await;
    refused.assert_error(400, "validation_error");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("numbers must be within"), "{}", refused.text);
    let created = app.post("/v2/conversations", body(-1e300)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    let stored = app.get(&format!("/v2/conversations/{id}")).await;
    assert_eq!(stored.body["context"]["metadata"]["x"], -1e300, "stored and read back: {}", stored.text);
    let gql = app
        .graphql(
            "mutation($m: JSON) { createConversation(input: {agentId: \"x\", context: {metadata: $m}}) { id } }",
            json!({"m": {"x": 1.7976931348623157e308}}),
        )
        .await;
    assert_eq!(gql.status, StatusCode::BAD_REQUEST, "{}", gql.text);
    assert_eq!(gql_code(&gql.body), "validation_error");
}

crate::db_tests!(
    numbers_the_database_could_not_read_back_are_refused,
    open_streams_are_capped_per_account,
    an_idempotent_request_finishes_when_its_client_leaves,
    a_dead_owners_idempotency_lock_lapses,
    deep_documents_are_refused_on_every_path,
    validation_work_is_bounded_and_charged,
    multipart_is_authenticated_before_it_is_read,
    batch_references_cannot_multiply_memory,
    stalled_and_idle_connections_are_closed,
    connections_are_capped,
);
