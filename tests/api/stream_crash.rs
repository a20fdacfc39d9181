//! A reply killed mid-stream (SIGKILL of the real server process): after the restart the reply is
//! `failed/interrupted` with the text saved before the kill (a prefix of what the client saw, within the documented
//! bound), its replay has the same ids and data as the live stream, and a resume from the client's real
//! `Last-Event-ID` — past what was saved — still ends with `error` then `done`.
use std::{process::Child, time::Duration};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    chat::{SseEvent, assert_sequential, events, next_event, text_of, until_done},
    crash::{free_port, wait_ready},
    db_tests,
    helpers::{Backend, fresh_database},
};

/// Saves every 8 stream events; the time trigger is set out of reach so the saved points are the count's.
const SAVE_EVERY: u64 = 8;

db_tests!(
    a_reply_killed_mid_stream_keeps_its_saved_text_and_resumes_to_done,
    an_idempotent_send_killed_mid_reply_is_answered_from_what_it_stored,
);

fn start(database_url: &str, port: u16, storage: &std::path::Path) -> Child {
    crate::crash::server(database_url, port, storage)
        // Slow enough that the reply is far from finished when the process dies.
        .env("OPENCLAW_ECHO_TOKEN_DELAY_MS", "25")
        .env("OPENCLAW_STREAM_PERSIST_EVERY_DELTAS", SAVE_EVERY.to_string())
        .env("OPENCLAW_STREAM_PERSIST_INTERVAL_MS", "600000")
        // A dead process's idempotency lock lapses quickly.
        .env("OPENCLAW_IDEMPOTENCY_LOCK_LEASE_SECS", "3")
        .spawn()
        .unwrap()
}

async fn a_reply_killed_mid_stream_keeps_its_saved_text_and_resumes_to_done(backend: Backend) {
    let (database_url, _db) = fresh_database(backend).await;
    let storage = tempfile::tempdir().unwrap();
    let key = crate::crash::create_key(&database_url, "stream-crash");
    let client = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&database_url, port, storage.path());
    wait_ready(&client, &base).await;
    let get = |path: String| client.get(format!("{base}{path}")).header("X-API-Key", &key).send();
    let post =
        |path: &str, body: Value| client.post(format!("{base}{path}")).header("X-API-Key", &key).json(&body).send();
    let agent: Value =
        post("/v2/agents", json!({ "name": "crash", "model": "echo" })).await.unwrap().json().await.unwrap();
    let conversation: Value =
        post("/v2/conversations", json!({ "agentId": agent["id"] })).await.unwrap().json().await.unwrap();
    let conversation = conversation["id"].as_str().unwrap().to_owned();
    let content = (0..400).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    let response =
        post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": content, "stream": true }))
            .await
            .unwrap();
    let mut stream = events(response);
    let mut seen: Vec<SseEvent> = Vec::new();
    while seen.len() < 30 {
        seen.push(next_event(&mut stream).await);
    }
    let reply_id = seen[0].data["messageId"].as_str().unwrap().to_owned();
    // Wait until a save has landed (the saver is a task of its own, so reading event 30 does not mean it wrote).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let saved_before_kill = loop {
        assert!(tokio::time::Instant::now() < deadline, "no periodic save within 20 s");
        let response = get(format!("/v2/messages/{reply_id}")).await.unwrap();
        // The account's request rate limit may answer a poll with 429: poll again.
        if response.status() == StatusCode::OK {
            let reply: Value = response.json().await.unwrap();
            assert_eq!(reply["status"], "in_progress", "the reply must still be running when the process is killed");
            let saved = reply["content"].as_str().unwrap().to_owned();
            if !saved.is_empty() {
                break saved;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.kill().unwrap(); // SIGKILL: no shutdown, no final save
    server.wait().unwrap();
    // The client reads what the server had sent before it died, then the connection breaks: its real
    // Last-Event-ID is the last event it got, likely past what was saved.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("the broken stream ends") {
            Some(Ok(event)) if !event.data.is_empty() => seen.push(event.into()),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    assert_sequential(&seen, 1);
    assert!(
        seen.iter().all(|e| e.event == "message.created" || e.event == "message.delta"),
        "the reply never finished"
    );
    let last_seen: u64 = seen.last().unwrap().id.parse().unwrap();
    let streamed = text_of(&seen);

    let mut server = start(&database_url, port, storage.path());
    wait_ready(&client, &base).await;
    let stored: Value = get(format!("/v2/messages/{reply_id}")).await.unwrap().json().await.unwrap();
    assert_eq!(stored["status"], "failed", "{stored}");
    assert_eq!(stored["error"]["code"], "interrupted", "{stored}");
    let kept = stored["content"].as_str().unwrap();
    assert!(kept.starts_with(&saved_before_kill), "saves only grow: {kept:?} vs {saved_before_kill:?}");
    assert!(!kept.is_empty() && streamed.starts_with(kept), "kept {kept:?} is not a prefix of streamed {streamed:?}");

    let resume_path = format!("{base}/v2/conversations/{conversation}/messages/{reply_id}/stream");
    let resume =
        |after: String| client.get(&resume_path).header("X-API-Key", &key).header("Last-Event-ID", after).send();

    // From the client's real Last-Event-ID: the terminal events, with ids after it, within a bound.
    let response = resume(last_seen.to_string()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tail = tokio::time::timeout(Duration::from_secs(10), until_done(&mut events(response)))
        .await
        .expect("the resumed stream ends with done");
    let names: Vec<&str> = tail.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(&names[names.len() - 2..], &["error", "done"], "{names:?}");
    assert_eq!(tail[tail.len() - 2].data["code"], "interrupted");
    assert_eq!(tail.last().unwrap().data["status"], "failed");
    assert_sequential(&tail, last_seen + 1);

    // From the start: the saved part with the live ids and data, then error and done numbered after it.
    let response = resume("0".into()).await.unwrap();
    let replay = tokio::time::timeout(Duration::from_secs(10), until_done(&mut events(response))).await.unwrap();
    assert_sequential(&replay, 1);
    let saved = &replay[..replay.len() - 2];
    assert!(saved.len() >= 2, "created and at least one delta were saved: {replay:#?}");
    assert!(saved.len() <= seen.len(), "nothing was saved that the stream had not sent");
    for (live, again) in seen.iter().zip(saved) {
        assert_eq!((&live.id, &live.event, &live.data), (&again.id, &again.event, &again.data));
    }
    assert_eq!(text_of(saved), kept);
    assert_eq!(replay[replay.len() - 2..].iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["error", "done"]);
    // Saves happen every SAVE_EVERY events, so what was saved is a whole number of them.
    assert_eq!(saved.len() as u64 % SAVE_EVERY, 0, "saved {} events", saved.len());
    server.kill().unwrap();
    server.wait().unwrap();
}

async fn an_idempotent_send_killed_mid_reply_is_answered_from_what_it_stored(backend: Backend) {
    let (database_url, _db) = fresh_database(backend).await;
    let storage = tempfile::tempdir().unwrap();
    let key = crate::crash::create_key(&database_url, "idempotent-crash");
    let client = reqwest::Client::new();
    let base = |port: u16| format!("http://127.0.0.1:{port}");
    let port = free_port();
    let mut server = start(&database_url, port, storage.path());
    wait_ready(&client, &base(port)).await;
    let post = |url: String, body: Value| client.post(url).header("X-API-Key", &key).json(&body).send();
    let agent: Value = post(format!("{}/v2/agents", base(port)), json!({"name": "idem", "model": "echo"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation: Value = post(format!("{}/v2/conversations", base(port)), json!({"agentId": agent["id"]}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/v2/conversations/{}/messages", conversation["id"].as_str().unwrap());
    let content = (0..300).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    let body = json!({"content": content, "stream": false});
    let send = |port: u16| {
        client
            .post(format!("{}{path}", base(port)))
            .header("X-API-Key", &key)
            .header("Idempotency-Key", "dies-mid-reply")
            .json(&body)
            .send()
    };
    // The first request stores its message and starts the reply; the process dies while the reply runs.
    let first = tokio::spawn(send(port));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed: Value = client
            .get(format!("{}{path}", base(port)))
            .header("X-API-Key", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if listed["messages"].as_array().is_some_and(|m| m.len() == 2) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the message was never stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap(); // SIGKILL: the answer was never remembered
    server.wait().unwrap();
    assert!(first.await.unwrap().is_err(), "the first client lost its connection with the process");

    let port = free_port();
    let mut server = start(&database_url, port, storage.path());
    wait_ready(&client, &base(port)).await;
    // While the dead process's lock has not lapsed, retries are told to wait; then they get what it stored.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let retry = loop {
        let retry = send(port).await.unwrap();
        if retry.status() != StatusCode::CONFLICT || std::time::Instant::now() > deadline {
            break retry;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(retry.status(), StatusCode::OK);
    let exchange: Value = retry.json().await.unwrap();
    assert_eq!(exchange["message"]["content"], content.as_str(), "{exchange}");
    assert_eq!(exchange["reply"]["status"], "failed", "{exchange}");
    assert_eq!(exchange["reply"]["error"]["code"], "interrupted", "{exchange}");
    let listed: Value = client
        .get(format!("{}{path}", base(port)))
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["messages"].as_array().unwrap().len(), 2, "the message was not stored again: {listed}");
    // That answer is now remembered like any other.
    let again = send(port).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, exchange);
    server.kill().unwrap();
    server.wait().unwrap();
}
