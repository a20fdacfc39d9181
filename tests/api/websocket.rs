//! Subscriptions over real WebSockets: `graphql-transport-ws`, legacy `graphql-ws`, authentication, isolation.
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use openclaw::auth::Plan;
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

pub type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(app: &TestApp, protocol: &str) -> Ws {
    let mut request = format!("ws://{}/v2/graphql/ws", app.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    let (ws, response) = connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
    ws
}

pub async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::Text(message.to_string().into())).await.unwrap();
}

/// The next JSON text message (skipping pings), within five seconds.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let message =
            tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("timed out").unwrap().unwrap();
        match message {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "ping" && value["type"] != "ka" {
                    return value;
                }
            }
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

/// Waits until the server has registered `n` event subscribers, so a following change cannot be missed.
pub async fn wait_for_subscribers(app: &TestApp, n: usize) {
    for _ in 0..500 {
        if app.state.events.subscriber_count() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("subscription never registered");
}

const SUBSCRIPTION: &str = "subscription($id: ID) { agentUpdated(id: $id) { id name } }";

async fn graphql_transport_ws_delivers_agent_updates(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"X-API-Key": app.key}})).await;
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION, "variables": {"id": id}}}))
        .await;
    wait_for_subscribers(&app, 1).await;

    let patched = app.patch(&format!("/v2/agents/{id}"), json!({"name": "renamed"})).await;
    assert_eq!(patched.status.as_u16(), 200);

    let message = next_json(&mut ws).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], "1");
    assert_eq!(message["payload"]["data"]["agentUpdated"], json!({"id": id, "name": "renamed"}));

    // Installing a skill changes the agent too.
    app.post(&format!("/v2/agents/{id}/skills"), json!({"skillId": "calculator"})).await;
    assert_eq!(next_json(&mut ws).await["payload"]["data"]["agentUpdated"]["id"], id.as_str());

    send(&mut ws, json!({"id": "1", "type": "complete"})).await;
}

async fn legacy_graphql_ws_works_with_header_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let mut request = format!("ws://{}/v2/graphql/ws", app.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-ws".parse().unwrap());
    request.headers_mut().insert("X-API-Key", app.key.parse().unwrap());
    let (mut ws, _) = connect_async(request).await.unwrap();
    send(&mut ws, json!({"type": "connection_init", "payload": {}})).await;
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    send(&mut ws, json!({"id": "a", "type": "start", "payload": {"query": SUBSCRIPTION, "variables": {}}})).await;
    wait_for_subscribers(&app, 1).await;

    app.patch(&format!("/v2/agents/{id}"), json!({"description": "legacy"})).await;

    let message = next_json(&mut ws).await;
    assert_eq!(message["type"], "data", "{message}");
    assert_eq!(message["payload"]["data"]["agentUpdated"]["id"], id.as_str());
}

async fn bad_credentials_close_with_4403(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"X-API-Key": "oc_wrong"}})).await;
    let message = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    match message {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4403, "{frame:?}"),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

async fn subscribers_only_see_their_own_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    let theirs = app.seed_agent().await;
    let other_key = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let mine =
        app.send(reqwest::Method::POST, "/v2/agents", Some(&other_key), Some(json!({"name": "b's agent"}))).await.body
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", bearer(&app, &other_key).await)}})).await;
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})).await;
    wait_for_subscribers(&app, 1).await;

    app.patch(&format!("/v2/agents/{theirs}"), json!({"name": "tenant a change"})).await;
    app.send(
        reqwest::Method::PATCH,
        &format!("/v2/agents/{mine}"),
        Some(&other_key),
        Some(json!({"name": "tenant b change"})),
    )
    .await;

    let message = next_json(&mut ws).await;
    assert_eq!(message["payload"]["data"]["agentUpdated"], json!({"id": mine, "name": "tenant b change"}), "{message}");
}

async fn bearer(app: &TestApp, key: &str) -> String {
    let reply = app.send(reqwest::Method::POST, "/v2/auth/token", Some(key), Some(json!({}))).await;
    reply.body["accessToken"].as_str().unwrap().to_owned()
}

async fn oversized_messages_end_the_connection_not_the_server(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.body_limit_bytes = 4096).await;
    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "connection_init", "payload": {"X-API-Key": app.key, "padding": "x".repeat(10_000)}}))
        .await;

    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                Some(Ok(Message::Text(text))) if text.contains("connection_ack") => return false,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .unwrap();

    assert!(ended, "a message over the limit must not be processed");
    assert_eq!(app.get("/v2/agents").await.status.as_u16(), 200, "the server keeps serving");
}

crate::db_tests!(
    oversized_messages_end_the_connection_not_the_server,
    graphql_transport_ws_protocol_violations_close_with_the_specified_codes,
    graphql_transport_ws_delivers_agent_updates,
    legacy_graphql_ws_works_with_header_credentials,
    bad_credentials_close_with_4403,
    subscribers_only_see_their_own_tenant,
);

/// The next close frame's code (skipping other messages), within five seconds.
async fn close_code(ws: &mut Ws) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("timed out waiting for close") {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => continue,
            Some(Err(err)) => panic!("socket error: {err}"),
        }
    }
}

/// The protocol's close codes (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
async fn graphql_transport_ws_protocol_violations_close_with_the_specified_codes(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.ws_connection_init_timeout_ms = 300).await;
    let init = json!({"type": "connection_init", "payload": {"X-API-Key": app.key}});

    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})).await;
    assert_eq!(close_code(&mut ws).await, 4401, "subscribe before connection_ack");

    let mut ws = connect(&app, "graphql-transport-ws").await;
    ws.send(Message::Text("this is not json".into())).await.unwrap();
    assert_eq!(close_code(&mut ws).await, 4400, "invalid message");

    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, init.clone()).await;
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    send(&mut ws, init.clone()).await;
    assert_eq!(close_code(&mut ws).await, 4429, "second connection_init");

    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, init.clone()).await;
    assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
    send(&mut ws, json!({"id": "dup", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})).await;
    send(&mut ws, json!({"id": "dup", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})).await;
    assert_eq!(close_code(&mut ws).await, 4409, "subscriber for the id already exists");

    let mut ws = connect(&app, "graphql-transport-ws").await;
    send(&mut ws, json!({"type": "ping"})).await;
    let pong = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(pong.to_text().unwrap()).unwrap()["type"],
        "pong",
        "ping is answered at any time"
    );
    assert_eq!(close_code(&mut ws).await, 4408, "no connection_init within the timeout");
}
