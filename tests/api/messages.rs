//! Messages over REST without streaming: the seed's body, the stored exchange, usage, history, bad input,
//! busy conversations (409 or queued), cancel, and `Idempotency-Key`.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    db_tests,
    helpers::{Backend, spawn_app, spawn_app_with},
};

db_tests!(
    seed_message_gets_a_stored_reply_with_usage,
    bad_messages_name_the_field_and_store_nothing,
    second_message_while_busy_is_refused_or_queued,
    cancel_keeps_the_partial_reply,
    idempotency_keys_replay_without_redoing_work,
    concurrent_sends_never_fail_on_the_database,
);

async fn seed_message_gets_a_stored_reply_with_usage(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let path = format!("/v2/conversations/{conversation}/messages");
    // The announcement's body, verbatim except `stream`.
    let body = json!({
        "content": "帮我分析这份报告",
        "attachments": [{ "type": "file", "url": "https://example.com/report.pdf" }],
        "stream": false
    });
    let sent = app.post(&path, body).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let (message, reply) = (&sent.body["message"], &sent.body["reply"]);
    assert!(message["id"].as_str().unwrap().starts_with("msg-"));
    assert_eq!(message["role"], "user");
    assert_eq!(message["content"], "帮我分析这份报告");
    assert_eq!(
        message["attachments"],
        json!([{ "type": "file", "url": "https://example.com/report.pdf", "fileId": null }])
    );
    assert_eq!(message["replyId"], reply["id"]);
    assert_eq!(reply["role"], "assistant");
    assert_eq!(reply["status"], "completed");
    // The attachment is fetched for the model at run time: example.com has no such report (or no network here), so
    // the model is told it could not be read, and echo repeats what it was given.
    let content = reply["content"].as_str().unwrap();
    assert!(
        content.starts_with("Echo: 帮我分析这份报告\n\n[attachment https://example.com/report.pdf could not be read: "),
        "{content}"
    );
    assert_eq!(reply["replyTo"], message["id"]);
    assert_eq!(reply["model"], "echo/echo");
    assert_eq!(reply["finishReason"], "stop");
    // Echo counts tokens as it streams them: "Echo", ":", " 帮", "我", "分析", "这", "份", "报告"…
    let completion = reply["usage"]["completionTokens"].as_i64().unwrap();
    let streamed = openclaw::llm::tokens::count(content) as i64;
    assert_eq!(completion, streamed);
    // Prompt: system prompt + the user message as the model got it (with the attachment note), each with the
    // 4-token framing.
    let given = &content["Echo: ".len()..];
    let prompt = (4 + openclaw::llm::tokens::count("Be brief.") + 4 + openclaw::llm::tokens::count(given)) as i64;
    assert_eq!(reply["usage"]["promptTokens"], prompt);
    assert_eq!(reply["usage"]["totalTokens"], prompt + completion);

    // A second turn sees the history: the prompt grows by the first exchange.
    let second = app.post(&path, json!({ "content": "再来一次" })).await;
    let second_prompt = second.body["reply"]["usage"]["promptTokens"].as_i64().unwrap();
    // (Earlier messages are in the history as stored: only the message being answered carries its attachments.)
    let count = |text: &str| 4 + openclaw::llm::tokens::count(text) as i64;
    let history = count("Be brief.") + count("帮我分析这份报告") + count(content) + count("再来一次");
    assert_eq!(second_prompt, history, "the second prompt includes the history");

    let listed = app.get(&path).await;
    let roles: Vec<&str> =
        listed.body["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, vec!["user", "assistant", "user", "assistant"]);
    let read = app.get(&format!("/v2/messages/{}", reply["id"].as_str().unwrap())).await;
    assert_eq!(&read.body, reply);

    let page = app.get(&format!("{path}?limit=3")).await;
    let cursor = page.body["pagination"]["nextCursor"].as_str().unwrap().to_owned();
    let rest = app.get(&format!("{path}?after={cursor}")).await;
    assert_eq!(rest.body["messages"].as_array().unwrap().len(), 1);

    // Usage accumulates per account per month.
    let usage = openclaw::services::usage::for_month(&app.state.db, &account_of(&app).await, chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    let total_completion = completion + second.body["reply"]["usage"]["completionTokens"].as_i64().unwrap();
    assert_eq!(usage.completion_tokens, total_completion);
    assert_eq!(usage.prompt_tokens, prompt + second_prompt);
    assert_eq!(usage.model_calls, 2);
}

async fn account_of(app: &crate::helpers::TestApp) -> String {
    let viewer = app.graphql("{ viewer { accountId } }", json!({})).await;
    viewer.body["data"]["viewer"]["accountId"].as_str().unwrap().to_owned()
}

async fn bad_messages_name_the_field_and_store_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.max_message_chars = 100).await;
    let (_, conversation) = app.echo_conversation().await;
    let path = format!("/v2/conversations/{conversation}/messages");
    let cases: [(Value, &str); 8] = [
        (json!({ "content": "" }), "content"),
        (json!({ "content": "   \n" }), "content"),
        (json!({ "content": "x".repeat(101) }), "content"),
        (json!({ "content": "hi", "attachments": [{ "type": "file" }] }), "attachments[0]"),
        (
            json!({ "content": "hi", "attachments": [{ "type": "image", "url": "https://a.b/c" }] }),
            "attachments[0].type",
        ),
        (json!({ "content": "hi", "attachments": [{ "type": "file", "url": "ftp://a.b/c" }] }), "attachments[0].url"),
        (json!({ "content": "hi", "attachments": [{ "type": "file", "fileId": "agent-1" }] }), "attachments[0].fileId"),
        (json!({ "content": "hi", "whileBusy": "later" }), "whileBusy"),
    ];
    for (body, field) in cases {
        let reply = app.post(&path, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.text);
        assert!(reply.text.contains(field), "{body} should name {field}: {}", reply.text);
    }
    app.post(&path, json!({})).await.assert_error(400, "validation_error");
    app.post("/v2/conversations/conv-nope/messages", json!({ "content": "hi" })).await.assert_error(404, "not_found");
    assert_eq!(app.get(&path).await.body["messages"], json!([]), "nothing was stored");
}

async fn second_message_while_busy_is_refused_or_queued(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 40).await;
    let (_, conversation) = app.echo_conversation().await;
    let path = format!("/v2/conversations/{conversation}/messages");
    // GraphQL's sendMessage returns at once, with the reply still running.
    let first = app
        .graphql(
            "mutation($id: ID!) { sendMessage(conversationId: $id, input: {content: \"one two three four\"}) { replyId message { id } } }",
            json!({ "id": conversation }),
        )
        .await;
    let first_reply = first.body["data"]["sendMessage"]["replyId"].as_str().unwrap().to_owned();
    let busy = app.post(&path, json!({ "content": "are you there?" })).await;
    busy.assert_error(409, "conversation_busy");
    let queued = app.post(&path, json!({ "content": "queued one", "whileBusy": "enqueue" })).await;
    assert_eq!(queued.status, StatusCode::OK, "{}", queued.text);
    assert_eq!(queued.body["reply"]["status"], "completed");
    assert_eq!(queued.body["reply"]["content"], "Echo: queued one");
    let first_done = app.wait_finished(&first_reply).await;
    assert_eq!(first_done["content"], "Echo: one two three four");
    // The queued reply ran after the first one finished, and saw it in its history.
    let first_completed = first_done["completedAt"].as_str().unwrap().to_owned();
    assert!(queued.body["reply"]["completedAt"].as_str().unwrap() >= first_completed.as_str());
    let contents: Vec<String> = app.get(&path).await.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(contents, vec!["one two three four", "Echo: one two three four", "queued one", "Echo: queued one"]);
    let conversation_now = app.get(&format!("/v2/conversations/{conversation}")).await;
    assert_eq!(conversation_now.body["activeReplyId"], Value::Null, "the conversation is free again");
}

async fn cancel_keeps_the_partial_reply(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 50).await;
    let (_, conversation) = app.echo_conversation().await;
    let long = "word ".repeat(200);
    let sent = app
        .graphql(
            "mutation($id: ID!, $c: String!) { sendMessage(conversationId: $id, input: {content: $c}) { replyId } }",
            json!({ "id": conversation, "c": long }),
        )
        .await;
    let reply_id = sent.body["data"]["sendMessage"]["replyId"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let cancelled = app.post(&format!("/v2/conversations/{conversation}/cancel"), json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(cancelled.body["id"], reply_id);
    assert_eq!(cancelled.body["status"], "cancelled");
    let partial = cancelled.body["content"].as_str().unwrap();
    assert!(partial.starts_with("Echo:") && partial.len() < long.len(), "partial content kept: {partial:?}");
    assert!(cancelled.body["usage"]["completionTokens"].as_i64().unwrap() > 0);
    let stored = app.get(&format!("/v2/messages/{reply_id}")).await;
    assert_eq!(stored.body, cancelled.body);
    app.post(&format!("/v2/conversations/{conversation}/cancel"), json!({})).await.assert_error(409, "no_active_reply");
    // The conversation takes messages again.
    let next = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "again" })).await;
    assert_eq!(next.body["reply"]["status"], "completed", "{}", next.text);
}

async fn idempotency_keys_replay_without_redoing_work(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let path = format!("/v2/conversations/{conversation}/messages");
    let post = |key: &'static str, body: Value| {
        let request =
            app.client.post(app.url(&path)).header("X-API-Key", &app.key).header("Idempotency-Key", key).json(&body);
        async move { crate::helpers::read(request.send().await.unwrap()).await }
    };
    let first = post("key-1", json!({ "content": "once" })).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = post("key-1", json!({ "content": "once" })).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first.body, "the first response, replayed");
    assert_eq!(app.get(&path).await.body["messages"].as_array().unwrap().len(), 2, "the work was done once");
    post("key-1", json!({ "content": "different" })).await.assert_error(422, "idempotency_mismatch");

    // Errors (4xx) are remembered too; every POST route honours keys (agents here).
    let agent = |key: &'static str| {
        let request = app
            .client
            .post(app.url("/v2/agents"))
            .header("X-API-Key", &app.key)
            .header("Idempotency-Key", key)
            .json(&json!({ "name": "idem", "model": "echo" }));
        async move { crate::helpers::read(request.send().await.unwrap()).await }
    };
    let (a, b) = (agent("agent-key").await, agent("agent-key").await);
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(b.status, StatusCode::CREATED);
    assert_eq!(a.body["id"], b.body["id"]);
    let names: Vec<Value> =
        app.get("/v2/agents").await.body["agents"].as_array().unwrap().iter().map(|a| a["name"].clone()).collect();
    assert_eq!(names.iter().filter(|n| *n == "idem").count(), 1);

    let bad = app
        .client
        .post(app.url("/v2/agents"))
        .header("X-API-Key", &app.key)
        .header("Idempotency-Key", "")
        .json(&json!({"name": "x"}));
    crate::helpers::read(bad.send().await.unwrap()).await.assert_error(400, "validation_error");
}

async fn concurrent_sends_never_fail_on_the_database(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.echo_token_delay_ms = 0).await;
    let (agent_id, _) = app.echo_conversation().await;
    // Conversations opened in parallel…
    let opened =
        futures_util::future::join_all((0..12).map(|_| app.post("/v2/conversations", json!({ "agentId": agent_id }))))
            .await;
    let ids: Vec<String> = opened
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    // …messages to all of them at once…
    let paths: Vec<String> = ids.iter().map(|id| format!("/v2/conversations/{id}/messages")).collect();
    let sent =
        futures_util::future::join_all(paths.iter().map(|p| app.post(p, json!({ "content": "together" })))).await;
    for reply in &sent {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["reply"]["status"], "completed");
    }
    // …and many to one conversation: exactly one runs, the others are refused as busy — never a 500.
    let same = &paths[0];
    let racing = futures_util::future::join_all((0..8).map(|_| app.post(same, json!({ "content": "race" })))).await;
    let statuses: Vec<u16> = racing.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
}
