//! Skills as tools in the run loop, offline: the `echo` model's documented `/tool` and `/loop` lines make it
//! call tools deterministically, so the whole loop — `tool.call` / `tool.result` on the stream, results fed back,
//! failures returned to the model, the step limit, replay after the end — is driven over real HTTP. The same loop
//! against an OpenAI-compatible upstream ([`FakeOpenAi`]) checks the wire format of tools, calls and results.
use reqwest::{Method, StatusCode};

use serde_json::{Value, json};

use crate::{
    chat::{SseEvent, events, text_of, until_done},
    db_tests,
    fake_openai::{FakeOpenAi, FakeResponse},
    helpers::{Backend, TestApp, spawn_app, spawn_app_with},
    providers::{app_with_fake, fake_agent_conversation},
};

db_tests!(
    the_model_calls_a_tool_and_answers_with_its_result,
    tool_failures_are_returned_to_the_model,
    a_tool_loop_that_never_ends_is_stopped,
    tools_run_without_streaming_too,
    the_subscription_carries_tool_calls_and_results,
    at_most_sixteen_calls_run_per_model_call,
    a_prompt_grown_by_tool_results_is_trimmed_to_the_window,
    the_openai_provider_gets_tools_and_sends_results_back,
);

/// An echo agent with these skills installed (`(id, config)`), and a conversation with it.
pub async fn tool_conversation(app: &TestApp, skills: &[(&str, Value)]) -> (String, String) {
    let skills: Vec<Value> = skills.iter().map(|(id, config)| json!({ "id": id, "config": config })).collect();
    let agent = app.post("/v2/agents", json!({ "name": "tools", "model": "echo", "skills": skills })).await;
    assert_eq!(agent.status, StatusCode::CREATED, "{}", agent.text);
    let agent_id = agent.body["id"].as_str().unwrap().to_owned();
    let conversation = app.open_conversation(&agent_id).await;
    (agent_id, conversation)
}

fn names(events: &[SseEvent]) -> Vec<&str> {
    let mut names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    names.dedup();
    names
}

pub fn of_kind<'a>(events: &'a [SseEvent], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e.event == kind).map(|e| &e.data).collect()
}

async fn the_model_calls_a_tool_and_answers_with_its_result(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = tool_conversation(&app, &[("calculator", json!({})), ("datetime", json!({}))]).await;
    let content = "What is 17 times 23 plus 4, and when is a day after launch in Shanghai?\n\
                   /tool calculator {\"expression\": \"(17 * 23) + 4\"}\n\
                   /tool datetime {\"action\": \"add\", \"datetime\": \"2026-03-10T10:00:00Z\", \"days\": 1, \"timezone\": \"Asia/Shanghai\"}";
    let all = until_done(&mut app.stream_message(&conversation, content).await).await;
    assert_eq!(
        names(&all),
        [
            "message.created",
            "tool.call",
            "tool.result",
            "tool.call",
            "tool.result",
            "message.delta",
            "message.completed",
            "done"
        ]
    );
    let calls = of_kind(&all, "tool.call");
    assert_eq!(calls[0]["name"], "calculator");
    assert_eq!(calls[0]["skillId"], "calculator");
    assert_eq!(calls[0]["arguments"], json!({ "expression": "(17 * 23) + 4" }));
    assert_eq!(calls[0]["callId"], "call_1_0");
    let results = of_kind(&all, "tool.result");
    assert_eq!(results[0]["callId"], "call_1_0");
    assert_eq!(results[0]["result"]["result"], 395);
    assert_eq!(results[0]["error"], Value::Null);
    assert!(results[0]["durationMs"].is_u64());
    assert_eq!(results[1]["result"]["datetime"], "2026-03-11T18:00:00+08:00");
    assert_eq!(results[1]["result"]["weekday"], "Wednesday");
    // The results went back to the model, which answered with them.
    let text = text_of(&all);
    assert!(text.contains("[calculator] {\"expression\":\"(17 * 23) + 4\",\"result\":395}"), "{text}");
    assert!(text.contains("[datetime] {"), "{text}");
    let completed = of_kind(&all, "message.completed")[0];
    assert_eq!(completed["finishReason"], "stop");
    assert_eq!(completed["status"], "completed");
    // Usage covers both model calls: the second prompt holds the first one plus the calls and results.
    let usage = &completed["usage"];
    assert!(usage["promptTokens"].as_u64().unwrap() > 2 * 40, "{usage}");

    // The stored reply lists its tool calls with their outcomes (as `message.completed` did).
    let reply_id = completed["id"].as_str().unwrap();
    let stored = app.get(&format!("/v2/messages/{reply_id}")).await.body;
    let recorded = stored["toolCalls"].as_array().unwrap();
    assert_eq!(recorded.len(), 2, "{stored}");
    assert_eq!(recorded[0]["id"], "call_1_0");
    assert_eq!(recorded[0]["name"], "calculator");
    assert_eq!(recorded[0]["skillId"], "calculator");
    assert_eq!(recorded[0]["arguments"], json!({ "expression": "(17 * 23) + 4" }));
    assert_eq!(recorded[0]["result"]["result"], 395);
    assert_eq!(recorded[0]["error"], Value::Null);
    assert!(recorded[0]["durationMs"].is_u64());
    assert_eq!(recorded[1]["name"], "datetime");
    assert_eq!(&completed["toolCalls"], &stored["toolCalls"]);
    // A client resuming after the end gets the same events, tool events in place, from the database.
    let path = format!("/v2/conversations/{conversation}/messages/{reply_id}/stream");
    let replayed =
        until_done(&mut events(app.stream_request(Method::GET, &path, None, &[("Last-Event-ID", "0")]).await)).await;
    assert_eq!(replayed.len(), all.len());
    for (live, again) in all.iter().zip(&replayed) {
        assert_eq!((&live.id, &live.event), (&again.id, &again.event));
        if live.event != "message.completed" {
            assert_eq!(live.data, again.data);
        }
    }
}

async fn tool_failures_are_returned_to_the_model(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 1).await;
    let (agent_id, conversation) =
        tool_conversation(&app, &[("calculator", json!({ "precision": 2 })), ("datetime", json!({}))]).await;
    let disable = app.patch(&format!("/v2/agents/{agent_id}/skills/datetime"), json!({ "enabled": false })).await;
    assert_eq!(disable.status, StatusCode::OK, "{}", disable.text);
    let content = "/tool calculator {bad json\n/tool calculator {\"expression\": \"1 +\"}\n/tool calculator {\"expr\": \"1\"}\n\
                   /tool datetime {\"action\": \"now\"}\n/tool rm_rf {}\n/tool calculator {\"expression\": \"2/3\"}";
    let all = until_done(&mut app.stream_message(&conversation, content).await).await;
    let results = of_kind(&all, "tool.result");
    let codes: Vec<&str> = results.iter().map(|r| r["error"]["code"].as_str().unwrap_or("ok")).collect();
    assert_eq!(
        codes,
        ["invalid_arguments", "invalid_arguments", "invalid_arguments", "unknown_tool", "unknown_tool", "ok"]
    );
    assert_eq!(results[5]["result"]["result"], 0.67, "the install config's precision applies");
    // A malformed call is shown as the model sent it.
    assert_eq!(of_kind(&all, "tool.call")[0]["arguments"], "{bad json");
    let text = text_of(&all);
    assert!(text.contains("[rm_rf] {\"error\":{\"code\":\"unknown_tool\""), "{text}");
    let completed = of_kind(&all, "message.completed")[0];
    assert_eq!(completed["status"], "completed", "tool failures do not fail the reply");
    assert_eq!(completed["toolCalls"][0]["arguments"], "{bad json", "kept as the model sent it");
    assert_eq!(completed["toolCalls"][4]["error"]["code"], "unknown_tool");
    assert_eq!(completed["toolCalls"][4]["skillId"], Value::Null);
    // The conversation goes on.
    let next =
        app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "still there?" })).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.text);
    assert_eq!(next.body["reply"]["content"], "Echo: still there?");
}

async fn a_tool_loop_that_never_ends_is_stopped(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.tool_max_steps = 3).await;
    let (_, conversation) = tool_conversation(&app, &[("calculator", json!({}))]).await;
    let all =
        until_done(&mut app.stream_message(&conversation, "/loop calculator {\"expression\": \"1+1\"}").await).await;
    assert_eq!(of_kind(&all, "tool.result").len(), 2, "two rounds ran; the third call hit the limit");
    let error = of_kind(&all, "error")[0];
    assert_eq!(error["code"], "tool_loop_limit");
    assert!(error["message"].as_str().unwrap().contains("calculator"), "{error}");
    let reply_id = error["messageId"].as_str().unwrap();
    let stored = app.get(&format!("/v2/messages/{reply_id}")).await.body;
    assert_eq!(stored["status"], "failed");
    assert_eq!(stored["error"]["code"], "tool_loop_limit");
    assert!(stored["usage"]["promptTokens"].as_u64().unwrap() > 0, "the three model calls are counted: {stored}");
    let next = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "ok" })).await;
    assert_eq!(next.status, StatusCode::OK, "the conversation is free again: {}", next.text);
}

async fn tools_run_without_streaming_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = tool_conversation(&app, &[("calculator", json!({}))]).await;
    let sent = app
        .post(
            &format!("/v2/conversations/{conversation}/messages"),
            json!({ "content": "/tool calculator {\"expression\": \"2^8\"}" }),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let content = sent.body["reply"]["content"].as_str().unwrap();
    assert!(content.ends_with("[calculator] {\"expression\":\"2^8\",\"result\":256}"), "{content}");
}

async fn the_openai_provider_gets_tools_and_sends_results_back(backend: Backend) {
    let fake = FakeOpenAi::start().await;
    let app = app_with_fake(backend, &fake).await;
    let (agent_id, conversation) = fake_agent_conversation(&app).await;
    let install = app.post(&format!("/v2/agents/{agent_id}/skills"), json!({ "skillId": "calculator" })).await;
    assert_eq!(install.status, StatusCode::CREATED, "{}", install.text);
    fake.push(FakeResponse::tool_call("call_abc", "calculator", &["{\"expre", "ssion\": \"6*7\"}"]));
    fake.push(FakeResponse::text(&["It is ", "42."]));
    let all = until_done(&mut app.stream_message(&conversation, "What is six times seven?").await).await;
    assert_eq!(text_of(&all), "It is 42.");
    assert_eq!(of_kind(&all, "tool.result")[0]["result"]["result"], 42);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let tools = &requests[0].body["tools"];
    assert_eq!(tools[0]["type"], "function");
    assert_eq!(tools[0]["function"]["name"], "calculator");
    assert_eq!(tools[0]["function"]["parameters"]["required"], json!(["expression"]));
    let messages = requests[1].body["messages"].as_array().unwrap();
    let n = messages.len();
    assert_eq!(messages[n - 2]["role"], "assistant");
    assert_eq!(messages[n - 2]["tool_calls"][0]["id"], "call_abc");
    assert_eq!(messages[n - 2]["tool_calls"][0]["function"]["arguments"], "{\"expression\": \"6*7\"}");
    assert_eq!(messages[n - 1]["role"], "tool");
    assert_eq!(messages[n - 1]["tool_call_id"], "call_abc");
    assert_eq!(messages[n - 1]["content"], "{\"expression\":\"6*7\",\"result\":42}");
    let completed = of_kind(&all, "message.completed")[0];
    let prompt_tokens = completed["usage"]["promptTokens"].as_u64().unwrap();
    assert_eq!(prompt_tokens, 2 * crate::fake_openai::PROMPT_TOKENS, "both calls' usage chunks are added up");
}

async fn the_subscription_carries_tool_calls_and_results(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (_, conversation) = tool_conversation(&app, &[("calculator", json!({}))]).await;
    let sent = app
        .post(
            &format!("/v2/conversations/{conversation}/messages"),
            json!({ "content": "/tool calculator {\"expression\": \"6*7\"}" }),
        )
        .await;
    let reply_id = sent.body["reply"]["id"].as_str().unwrap();
    // GraphQL over SSE (the same subscription serves WebSocket clients): the finished reply, replayed.
    let query =
        "subscription($c: ID!, $m: ID) { messageStream(conversationId: $c, messageId: $m) { sequence type data } }";
    let items: Vec<Value> = app
        .graphql_sse(query, json!({ "c": conversation, "m": reply_id }))
        .await
        .into_iter()
        .map(|item| item["messageStream"].clone())
        .collect();
    let kinds: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..3], ["MESSAGE_CREATED", "TOOL_CALL", "TOOL_RESULT"], "{kinds:?}");
    assert_eq!(items[1]["data"]["name"], "calculator");
    assert_eq!(items[2]["data"]["result"]["result"], 42);
    assert_eq!(kinds.last(), Some(&"DONE"));
}

async fn at_most_sixteen_calls_run_per_model_call(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (_, conversation) = tool_conversation(&app, &[("calculator", json!({}))]).await;
    let content: Vec<String> = (0..20).map(|i| format!("/tool calculator {{\"expression\": \"{i}+1\"}}")).collect();
    let all = until_done(&mut app.stream_message(&conversation, &content.join("\n")).await).await;
    let results = of_kind(&all, "tool.result");
    assert_eq!(results.len(), 20, "every call is answered");
    assert!(results[..16].iter().all(|r| r["error"].is_null()), "{results:#?}");
    for skipped in &results[16..] {
        assert_eq!(skipped["error"]["code"], "tool_failed");
        assert!(skipped["error"]["message"].as_str().unwrap().contains("at most 16"), "{skipped}");
    }
    assert_eq!(of_kind(&all, "message.completed")[0]["status"], "completed");
}

async fn a_prompt_grown_by_tool_results_is_trimmed_to_the_window(backend: Backend) {
    // A small window (1,000 tokens, 100 kept for the reply) and an API answering ~3,000 tokens of JSON.
    let router = axum::Router::new().route(
        "/report",
        axum::routing::get(|| async {
            axum::Json(json!({ "rows": (0..600).map(|i| format!("row {i}")).collect::<Vec<_>>() }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let report = format!("http://{}/report", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let fake = FakeOpenAi::start().await;
    let base_url = fake.base_url.clone();
    let app = spawn_app_with(backend, move |config| {
        let provider = openclaw::llm::ProviderConfig {
            kind: openclaw::llm::ProviderKind::OpenaiCompatible,
            base_url: Some(base_url),
            context_window: 1000,
            max_retries: 0,
            ..openclaw::llm::ProviderConfig::default()
        };
        config.providers.insert("small".into(), provider);
    })
    .await;
    let agent = app
        .post("/v2/agents", json!({ "name": "small", "model": "small/tiny", "settings": { "maxTokens": 100 },
                                    "skills": [{ "id": "http-request", "config": { "allowedHosts": ["127.0.0.1"] } }] }))
        .await;
    let conversation = app.open_conversation(agent.body["id"].as_str().unwrap()).await;
    // Some history the trimming may drop first.
    fake.push(FakeResponse::text(&["Sure."]));
    let first = app
        .post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "word ".repeat(150) }))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let arguments = json!({ "url": report }).to_string();
    fake.push(FakeResponse::tool_call("call_r", "http_request", &[&arguments]));
    fake.push(FakeResponse::text(&["600 rows."]));
    let all = until_done(&mut app.stream_message(&conversation, "How many rows in the report?").await).await;
    assert_eq!(text_of(&all), "600 rows.");
    let sent = &fake.requests()[2].body;
    let messages = sent["messages"].as_array().unwrap();
    let tool = messages.last().unwrap();
    assert_eq!(tool["role"], "tool");
    assert!(tool["content"].as_str().unwrap().ends_with("(cut to fit the context window)"), "{tool}");
    assert!(messages.iter().all(|m| m["content"] != "word ".repeat(150)), "the old history went first");
    assert_eq!(messages[messages.len() - 3]["content"], "How many rows in the report?", "the question stays");
    let words: usize = messages
        .iter()
        .map(|m| openclaw::llm::tokens::count(m["content"].as_str().unwrap_or_default()) as usize + 4)
        .sum();
    assert!(words <= 900, "within the window: {words} tokens");
}
