//! A bounded soak (issue 14): mixed traffic — REST, GraphQL, streamed replies over SSE, WebSocket subscriptions,
//! uploads and downloads, and some hostile requests — from several clients for `OPENCLAW_SOAK_SECS` (default 45 s
//! per backend), then the server's resident memory and open file descriptors must come back to within a small
//! bound of where they were after a warm-up round. The server runs in this process, so its RSS and fds are ours.
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp, read, spawn_app_with},
    hostile::rss_bytes,
    websocket::{connect, next_json, send},
};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|dir| dir.count()).unwrap_or(0)
}

fn soak_duration() -> Duration {
    let secs = std::env::var("OPENCLAW_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(45);
    Duration::from_secs(secs)
}

/// One round of every kind of traffic; returns the number of requests it made.
async fn round(app: &TestApp, client: &reqwest::Client, worker: usize, n: usize) -> usize {
    let key = app.key.as_str();
    let mut requests = 0;
    // REST: an agent's life.
    let created = read(
        client
            .post(app.url("/v2/agents"))
            .header("X-API-Key", key)
            .json(&json!({"name": format!("soak-{worker}-{n}"), "model": "echo"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let agent = created.body["id"].as_str().unwrap().to_owned();
    let got = client.get(app.url(&format!("/v2/agents/{agent}"))).header("X-API-Key", key).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    requests += 2;
    // GraphQL.
    let page = read(
        client
            .post(app.url("/v2/graphql"))
            .header("X-API-Key", key)
            .json(&json!({"query": "{ agents(limit: 5) { agents { id name } pagination { total } } }"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(page.body["data"]["agents"]["agents"].is_array(), "{}", page.text);
    requests += 1;
    // A streamed reply, read to its end.
    let conversation = read(
        client
            .post(app.url("/v2/conversations"))
            .header("X-API-Key", key)
            .json(&json!({"agentId": agent}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let conversation = conversation.body["id"].as_str().unwrap().to_owned();
    let stream = client
        .post(app.url(&format!("/v2/conversations/{conversation}/messages")))
        .header("X-API-Key", key)
        .json(&json!({"content": "hello there, how are you today?", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let text = String::from_utf8(stream.bytes().await.unwrap().to_vec()).unwrap();
    assert!(text.contains("event: done"), "the stream ends with done: {text}");
    requests += 2;
    // A WebSocket subscription that sees one update, then closes.
    if n.is_multiple_of(2) {
        let mut ws = connect(app, "graphql-transport-ws").await;
        send(&mut ws, json!({"type": "connection_init", "payload": {"X-API-Key": key}})).await;
        assert_eq!(next_json(&mut ws).await["type"], "connection_ack");
        send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { plan } }"}})).await;
        assert_eq!(next_json(&mut ws).await["type"], "next");
        ws.close(None).await.ok();
        while ws.next().await.is_some() {}
        requests += 1;
    }
    // An upload, its download, its deletion.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![b'a'; 64 * 1024]).file_name("soak.txt").mime_str("text/plain").unwrap(),
    );
    let uploaded =
        read(client.post(app.url("/v2/files")).header("X-API-Key", key).multipart(form).send().await.unwrap()).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let file = uploaded.body["id"].as_str().unwrap().to_owned();
    let bytes = client
        .get(app.url(&format!("/v2/files/{file}/content")))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len(), 64 * 1024);
    let deleted = client.delete(app.url(&format!("/v2/files/{file}"))).header("X-API-Key", key).send().await.unwrap();
    assert!(deleted.status().is_success());
    requests += 3;
    // Hostile requests: a nesting bomb and an unauthenticated big body.
    let bomb = format!("{{ viewer(x: {}1{}) {{ plan }} }}", "[".repeat(3000), "]".repeat(3000));
    let refused = client
        .post(app.url("/v2/graphql"))
        .header("X-API-Key", key)
        .json(&json!({"query": bomb}))
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_success() || refused.status().is_client_error());
    // (Its own client: the server answers without reading the body and then closes that connection.)
    let anonymous =
        reqwest::Client::new().post(app.url("/v2/agents")).body(vec![b'x'; 256 * 1024]).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // Clean up, so the database's growth is not mistaken for the server's.
    let _ = client
        .delete(app.url(&format!("/v2/conversations/{conversation}")))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap();
    let _ = client.delete(app.url(&format!("/v2/agents/{agent}"))).header("X-API-Key", key).send().await.unwrap();
    requests + 4
}

async fn mixed_traffic_leaves_memory_and_descriptors_where_they_were(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 1).await;
    const WORKERS: usize = 4;
    // Warm-up: pools, caches and lazily started tasks reach their working size.
    for worker in 0..WORKERS {
        let client = reqwest::Client::new();
        round(&app, &client, worker, 0).await;
    }
    let (rss_before, fds_before) = (rss_bytes(), open_fds());
    let deadline = Instant::now() + soak_duration();
    let workers = (0..WORKERS).map(|worker| {
        let app = &app;
        async move {
            // A fresh client (and so fresh connections) now and then, as real clients come and go.
            let mut client = reqwest::Client::new();
            let (mut n, mut requests) = (1, 0);
            while Instant::now() < deadline {
                requests += round(app, &client, worker, n).await;
                if n.is_multiple_of(5) {
                    client = reqwest::Client::new();
                }
                n += 1;
            }
            requests
        }
    });
    let requests: usize = futures_util::future::join_all(workers).await.into_iter().sum();
    assert!(requests > 100, "the soak sent only {requests} requests");
    // Connections closed by the clients are closed by the server within its keep-alive bounds; poll for it.
    let settled = Instant::now() + Duration::from_secs(15);
    while open_fds() > fds_before + 8 && Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (rss_after, fds_after) = (rss_bytes(), open_fds());
    eprintln!(
        "soak: {requests} requests; RSS {} → {} MiB; fds {fds_before} → {fds_after}",
        rss_before >> 20,
        rss_after >> 20
    );
    assert!(fds_after <= fds_before + 8, "file descriptors grew from {fds_before} to {fds_after}");
    assert!(
        rss_after <= rss_before + 96 * 1024 * 1024,
        "RSS grew from {} MiB to {} MiB",
        rss_before >> 20,
        rss_after >> 20
    );
    assert_eq!(read(app.client.get(app.url("/healthz")).send().await.unwrap()).await.status, StatusCode::OK);
}

crate::db_tests!(mixed_traffic_leaves_memory_and_descriptors_where_they_were);
