//! The whole server against an OpenAI-compatible upstream ([`FakeOpenAi`], speaking the exact wire format): the
//! prompt it sends (system prompt, history, settings), the reply and usage it stores, and every failure mode —
//! upstream errors, a stalled upstream, a stream cut mid-reply, an unreachable provider — ending as a `failed`
//! reply with `error` then `done` on the stream, with the conversation usable afterwards.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    chat::{text_of, until_done},
    db_tests,
    fake_openai::{self, FakeOpenAi, FakeResponse, PROMPT_TOKENS},
    helpers::{Backend, TestApp, spawn_app_with},
};
use openclaw::llm::{ProviderConfig, ProviderKind};

db_tests!(
    replies_come_from_the_openai_compatible_provider,
    upstream_failures_are_stored_as_failed_replies,
    unknown_providers_are_refused_when_fallback_is_off,
);

pub async fn app_with_fake(backend: Backend, fake: &FakeOpenAi) -> TestApp {
    let base_url = fake.base_url.clone();
    spawn_app_with(backend, move |config| {
        config.providers.insert(
            "fake".into(),
            ProviderConfig {
                kind: ProviderKind::OpenaiCompatible,
                base_url: Some(base_url),
                first_token_timeout_ms: 500,
                idle_timeout_ms: 500,
                max_retries: 1,
                retry_base_ms: 10,
                ..ProviderConfig::default()
            },
        );
    })
    .await
}

/// An agent on `fake/gpt-4o-mini` and a conversation with it: `(agent, conversation)`.
pub async fn fake_agent_conversation(app: &TestApp) -> (String, String) {
    let agent = app
        .post(
            "/v2/agents",
            json!({ "name": "fake", "model": "fake/gpt-4o-mini", "systemPrompt": "You are terse.",
                    "settings": { "temperature": 0.3, "maxTokens": 64 } }),
        )
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.text);
    let agent_id = agent.body["id"].as_str().unwrap().to_owned();
    let conversation = app.open_conversation(&agent_id).await;
    (agent_id, conversation)
}

async fn fake_conversation(app: &TestApp) -> String {
    fake_agent_conversation(app).await.1
}

async fn replies_come_from_the_openai_compatible_provider(backend: Backend) {
    let fake = FakeOpenAi::start().await;
    let app = app_with_fake(backend, &fake).await;
    let (agent_id, conversation) = fake_agent_conversation(&app).await;
    let path = format!("/v2/conversations/{conversation}/messages");

    fake.push(FakeResponse::text(&["Hel", "lo", " 世界"]));
    let first = app.post(&path, json!({ "content": "Hi" })).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let reply = &first.body["reply"];
    assert_eq!(reply["content"], "Hello 世界");
    assert_eq!(reply["model"], "fake/gpt-4o-mini");
    assert_eq!(reply["finishReason"], "stop");
    assert_eq!(reply["usage"]["promptTokens"], PROMPT_TOKENS, "usage comes from the provider's usage chunk");

    // Second turn, streamed: the upstream sees the system prompt, the whole history and the agent's settings.
    fake.push(FakeResponse::text(&["Second", " answer"]));
    let mut stream = app.stream_message(&conversation, "And again?").await;
    let events = until_done(&mut stream).await;
    assert_eq!(text_of(&events), "Second answer");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let sent = &requests[1].body;
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["temperature"], 0.3);
    assert_eq!(sent["max_tokens"], 64);
    let messages: Vec<(String, String)> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["role"].as_str().unwrap().to_owned(), m["content"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let expected = [("system", "You are terse."), ("user", "Hi"), ("assistant", "Hello 世界"), ("user", "And again?")];
    assert_eq!(messages, expected.map(|(r, c)| (r.to_owned(), c.to_owned())));

    // Conversation settings override the agent's.
    let overriding = app
        .post(
            "/v2/conversations",
            json!({ "agentId": agent_id,
                    "settings": { "model": "fake/other-model", "temperature": 1.1, "maxTokens": 8 } }),
        )
        .await;
    let overriding = overriding.body["id"].as_str().unwrap().to_owned();
    fake.push(FakeResponse::text(&["ok"]));
    app.post(&format!("/v2/conversations/{overriding}/messages"), json!({ "content": "x" })).await;
    let third = &fake.requests()[2].body;
    assert_eq!(
        (third["model"].clone(), third["temperature"].clone(), third["max_tokens"].clone()),
        (json!("other-model"), json!(1.1), json!(8))
    );
}

/// Sends a streamed message and returns the events and the stored reply.
async fn failing_turn(app: &TestApp, conversation: &str) -> (Vec<crate::chat::SseEvent>, Value) {
    let mut stream = app.stream_message(conversation, "fail please").await;
    let events = until_done(&mut stream).await;
    let reply_id = events[0].data["messageId"].as_str().unwrap().to_owned();
    (events, app.wait_finished(&reply_id).await)
}

async fn upstream_failures_are_stored_as_failed_replies(backend: Backend) {
    let fake = FakeOpenAi::start().await;
    let app = app_with_fake(backend, &fake).await;
    let conversation = fake_conversation(&app).await;
    let cases: Vec<(Vec<FakeResponse>, &str, &str)> = vec![
        (vec![FakeResponse::error(500, "boom"), FakeResponse::error(503, "still down")], "upstream_error", ""),
        (vec![FakeResponse::error(401, "Incorrect API key provided")], "upstream_auth_failed", ""),
        (
            vec![FakeResponse::error(400, "This model's maximum context length is 8192 tokens")],
            "upstream_bad_request",
            "",
        ),
        (
            vec![FakeResponse::error(429, "slow down"), FakeResponse::error(429, "slow down")],
            "upstream_rate_limited",
            "",
        ),
        (vec![FakeResponse::Stall], "upstream_timeout", ""),
        (
            vec![FakeResponse::CloseMidStream {
                chunks: fake_openai::text_chunks(&["partial ", "reply"])[..3]
                    .iter()
                    .map(|c| c.clone().into_bytes())
                    .collect(),
            }],
            "upstream_incomplete",
            "partial reply",
        ),
    ];
    for (script, code, partial) in cases {
        for response in script {
            fake.push(response);
        }
        let (events, stored) = failing_turn(&app, &conversation).await;
        let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(&names[names.len() - 2..], &["error", "done"], "{code}: {names:?}");
        assert_eq!(events[events.len() - 2].data["code"], code, "{events:?}");
        assert_eq!(stored["status"], "failed", "{code}");
        assert_eq!(stored["error"]["code"], code);
        assert!(!stored["error"]["message"].as_str().unwrap().is_empty());
        assert_eq!(stored["content"], partial, "{code}: partial content is kept");
        assert_eq!(text_of(&events), partial);
    }
    // Nothing else broke: the next message gets a normal reply.
    fake.push(FakeResponse::text(&["fine"]));
    let ok = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "ok?" })).await;
    assert_eq!(ok.body["reply"]["content"], "fine", "{}", ok.text);

    // An unreachable provider (nothing listens there) fails the same way.
    let dead = spawn_app_with(Backend::Sqlite, |config| {
        config.providers.insert(
            "fake".into(),
            ProviderConfig {
                base_url: Some("http://127.0.0.1:9/v1".into()),
                max_retries: 0,
                ..ProviderConfig::default()
            },
        );
    })
    .await;
    let conversation = fake_conversation(&dead).await;
    let (_, stored) = failing_turn(&dead, &conversation).await;
    assert_eq!(stored["error"]["code"], "upstream_unreachable");
}

async fn unknown_providers_are_refused_when_fallback_is_off(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.fallback_provider = String::new()).await;
    let agent = app.post("/v2/agents", json!({ "name": "x", "model": "nowhere/model-1" })).await;
    let conversation = app.open_conversation(agent.body["id"].as_str().unwrap()).await;
    let refused = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "hi" })).await;
    refused.assert_error(400, "validation_error");
    assert!(refused.text.contains("nowhere"), "{}", refused.text);
    assert_eq!(app.get(&format!("/v2/conversations/{conversation}/messages")).await.body["messages"], json!([]));
    // `echo` is always there.
    let echo = app.post("/v2/agents", json!({ "name": "e", "model": "echo" })).await;
    let conversation = app.open_conversation(echo.body["id"].as_str().unwrap()).await;
    let ok = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "hi" })).await;
    assert_eq!(ok.body["reply"]["content"], "Echo: hi");
}
