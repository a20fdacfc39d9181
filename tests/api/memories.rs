//! Memories over the API: CRUD scoped by account, agent and user, provenance, retention (expired memories are
//! never returned and the periodic job deletes them), full-text search ranked by relevance, bad input; recall
//! into a run's prompt with `memory.recalled`, and the `memory` skill saving and searching across conversations.
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    chat::{text_of, until_done},
    db_tests,
    fake_openai::{FakeOpenAi, FakeResponse},
    helpers::{Backend, TestApp, spawn_app, spawn_app_with},
    providers::app_with_fake,
    tools::{of_kind, tool_conversation},
};
use entity::memory;
use openclaw::auth::Plan;

db_tests!(
    memories_are_crud_scoped_and_validated,
    search_ranks_by_relevance_and_refuses_empty_queries,
    expired_memories_are_never_returned_and_get_purged,
    runs_recall_the_users_memories_into_the_prompt,
    the_memory_skill_remembers_a_user_across_conversations,
    conversation_scoped_memories_stay_in_their_conversation,
);

async fn agent(app: &TestApp, body: Value) -> String {
    let reply = app.post("/v2/agents", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn remember(app: &TestApp, body: Value) -> Value {
    let reply = app.post("/v2/memories", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

async fn memories_are_crud_scoped_and_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent_id =
        agent(&app, json!({ "name": "m", "model": "echo", "memory": { "enabled": true, "retention": "30d" } })).await;
    let other = agent(&app, json!({ "name": "other", "model": "echo" })).await;
    let created = remember(
        &app,
        json!({ "agentId": agent_id, "userId": "alice", "content": "Alice prefers tea", "type": "preference", "metadata": { "source": "crm" } }),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("mem-"), "{id}");
    assert_eq!(created["type"], "preference");
    assert_eq!(created["metadata"], json!({ "source": "crm" }));
    assert_eq!(created["conversationId"], Value::Null);
    let retention = time(&created["expiresAt"]) - time(&created["createdAt"]);
    assert_eq!(retention.num_days(), 30, "expiresAt follows the agent's retention");
    remember(&app, json!({ "agentId": agent_id, "content": "The office is in Lyon" })).await;
    remember(&app, json!({ "agentId": agent_id, "userId": "bob", "content": "Bob is vegetarian" })).await;
    remember(&app, json!({ "agentId": other, "content": "Unrelated" })).await;

    assert_eq!(app.get(&format!("/v2/memories/{id}")).await.body["content"], "Alice prefers tea");
    let list = |query: String| {
        let app = &app;
        async move { app.get(&format!("/v2/memories?{query}")).await.body }
    };
    assert_eq!(list(format!("agentId={agent_id}")).await["pagination"]["total"], 3);
    assert_eq!(list(format!("agentId={agent_id}&userId=alice")).await["memories"][0]["id"], id);
    assert_eq!(list("type=fact".into()).await["pagination"]["total"], 3, "`fact` is the default type");
    assert_eq!(list(String::new()).await["pagination"]["total"], 4);

    let patched = app.patch(&format!("/v2/memories/{id}"), json!({ "content": "Alice prefers green tea" })).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["content"], "Alice prefers green tea");
    assert_eq!(patched.body["type"], "preference");
    assert_eq!(patched.body["expiresAt"], created["expiresAt"], "an edit does not extend the retention");

    // Another tenant sees none of it, and cannot write into this tenant's agent.
    let stranger = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let peek = app.send(reqwest::Method::GET, &format!("/v2/memories/{id}"), Some(&stranger), None).await;
    peek.assert_error(404, "not_found");
    let listed = app.send(reqwest::Method::GET, "/v2/memories", Some(&stranger), None).await;
    assert_eq!(listed.body["pagination"]["total"], 0);
    let into = app
        .send(
            reqwest::Method::POST,
            "/v2/memories",
            Some(&stranger),
            Some(json!({ "agentId": agent_id, "content": "x" })),
        )
        .await;
    into.assert_error(400, "validation_error");
    assert_eq!(into.field(), "agentId");
    let delete = app.send(reqwest::Method::DELETE, &format!("/v2/memories/{id}"), Some(&stranger), None).await;
    delete.assert_error(404, "not_found");
    // Scopes.
    let reader = app.create_key("tenant-a", Plan::Free, &["memories:read"]).await;
    let write = app
        .send(
            reqwest::Method::POST,
            "/v2/memories",
            Some(&reader),
            Some(json!({ "agentId": agent_id, "content": "x" })),
        )
        .await;
    write.assert_error(403, "forbidden");

    // Bad input names the field and stores nothing.
    let long = "x".repeat(8_001);
    for (body, field) in [
        (json!({ "agentId": agent_id, "content": "" }), "content"),
        (json!({ "agentId": agent_id, "content": "   " }), "content"),
        (json!({ "agentId": agent_id, "content": long }), "content"),
        (json!({ "agentId": agent_id, "content": "x", "type": "Not A Type" }), "type"),
        (json!({ "agentId": agent_id, "content": "x", "metadata": [1] }), "metadata"),
        (json!({ "agentId": agent_id, "content": "x", "userId": "" }), "userId"),
        (json!({ "agentId": "agent-nope", "content": "x" }), "agentId"),
    ] {
        let reply = app.post("/v2/memories", body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert!(reply.field().contains(field), "{field}: {}", reply.text);
    }
    let missing = app.post("/v2/memories", json!({ "content": "no agent" })).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    assert_eq!(list(String::new()).await["pagination"]["total"], 4, "nothing was stored");

    let deleted = app.delete(&format!("/v2/memories/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.get(&format!("/v2/memories/{id}")).await.assert_error(404, "not_found");
}

async fn search_ranks_by_relevance_and_refuses_empty_queries(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent_id = agent(&app, json!({ "name": "m", "model": "echo" })).await;
    for (user, content) in [
        ("alice", "Alice drinks dark roast coffee every morning"),
        ("alice", "Alice's dog is called Rex"),
        ("alice", "Coffee makes Alice jittery after 4pm, so no coffee in the afternoon"),
        ("bob", "Bob only drinks decaf coffee"),
        ("alice", "The quarterly meeting is on Tuesday"),
    ] {
        remember(&app, json!({ "agentId": agent_id, "userId": user, "content": content })).await;
    }
    let search = |q: &str, extra: &str| {
        let path = format!("/v2/memories?agentId={agent_id}&q={}{extra}", urlencode(q));
        let app = &app;
        async move { app.get(&path).await }
    };
    let coffee = search("what coffee does she drink?", "&userId=alice").await;
    assert_eq!(coffee.status, StatusCode::OK, "{}", coffee.text);
    let hits = coffee.body["memories"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "only alice's memories mentioning coffee/drink: {hits:#?}");
    assert!(hits.iter().all(|h| h["userId"] == "alice"));
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "most relevant first: {scores:?}");
    // Stemming: "drinking" finds "drinks".
    let stemmed = search("drinking", "").await;
    assert_eq!(stemmed.body["pagination"]["total"], 2, "{}", stemmed.text);
    let everyone = search("coffee", "").await;
    assert_eq!(everyone.body["pagination"]["total"], 3);
    assert_eq!(search("zebra", "").await.body["memories"], json!([]));
    // Query syntax of the engines is not exposed: operators are just text.
    let tricky = search("\"coffee\" OR NOT) AND (dog* ^ -", "").await;
    assert_eq!(tricky.status, StatusCode::OK, "{}", tricky.text);
    assert!(tricky.body["pagination"]["total"].as_u64().unwrap() >= 3, "{}", tricky.text);

    for (query, field) in [("", "q"), ("   ", "q"), ("?!…", "q")] {
        let reply = search(query, "").await;
        reply.assert_error(400, "validation_error");
        assert_eq!(reply.field(), field, "{query:?}: {}", reply.text);
    }
    let no_agent = app.get("/v2/memories?q=coffee").await;
    no_agent.assert_error(400, "validation_error");
    assert_eq!(no_agent.field(), "agentId");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn expired_memories_are_never_returned_and_get_purged(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.memory_purge_interval_secs = 1).await;
    let agent_id =
        agent(&app, json!({ "name": "m", "model": "echo", "memory": { "enabled": true, "retention": "12h" } })).await;
    let kept =
        agent(&app, json!({ "name": "k", "model": "echo", "memory": { "enabled": true, "retention": "forever" } }))
            .await;
    let short = remember(&app, json!({ "agentId": agent_id, "content": "Expiring coffee fact" })).await;
    let forever = remember(&app, json!({ "agentId": kept, "content": "Permanent coffee fact" })).await;
    assert_eq!((time(&short["expiresAt"]) - time(&short["createdAt"])).num_hours(), 12);
    assert_eq!(forever["expiresAt"], Value::Null);
    let id = short["id"].as_str().unwrap().to_owned();
    // Twelve hours pass for this memory.
    memory::Entity::update_many()
        .col_expr(memory::Column::ExpiresAt, Expr::value(Utc::now() - chrono::Duration::seconds(1)))
        .filter(memory::Column::Id.eq(id.as_str()))
        .exec(&app.state.db)
        .await
        .unwrap();
    app.get(&format!("/v2/memories/{id}")).await.assert_error(404, "not_found");
    assert_eq!(app.get(&format!("/v2/memories?agentId={agent_id}")).await.body["pagination"]["total"], 0);
    assert_eq!(app.get(&format!("/v2/memories?agentId={agent_id}&q=coffee")).await.body["memories"], json!([]));
    // The janitor deletes the row; the kept memory stays.
    let mut purged = false;
    for _ in 0..100 {
        if memory::Entity::find().filter(memory::Column::Id.eq(id.as_str())).count(&app.state.db).await.unwrap() == 0 {
            purged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(purged, "the expired memory was purged");
    assert_eq!(app.get(&format!("/v2/memories/{}", forever["id"].as_str().unwrap())).await.status, StatusCode::OK);
}

async fn runs_recall_the_users_memories_into_the_prompt(backend: Backend) {
    let fake = FakeOpenAi::start().await;
    let app = app_with_fake(backend, &fake).await;
    let agent_id = agent(
        &app,
        json!({ "name": "m", "model": "fake/gpt-4o-mini", "systemPrompt": "You are terse.", "memory": { "enabled": true } }),
    )
    .await;
    remember(&app, json!({ "agentId": agent_id, "userId": "alice", "content": "Alice's favourite colour is green" }))
        .await;
    remember(&app, json!({ "agentId": agent_id, "content": "Everyone here likes the colour orange" })).await;
    remember(&app, json!({ "agentId": agent_id, "userId": "bob", "content": "Bob's favourite colour is red" })).await;
    let conversation = |user: &'static str| {
        let app = &app;
        let agent_id = agent_id.clone();
        async move {
            let reply =
                app.post("/v2/conversations", json!({ "agentId": agent_id, "context": { "userId": user } })).await;
            reply.body["id"].as_str().unwrap().to_owned()
        }
    };
    let alice = conversation("alice").await;
    fake.push(FakeResponse::text(&["Green."]));
    let all = until_done(&mut app.stream_message(&alice, "What is my favourite colour?").await).await;
    let names: Vec<&str> = all.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(&names[..3], ["message.created", "memory.recalled", "message.delta"], "{names:?}");
    let recalled = of_kind(&all, "memory.recalled")[0];
    let contents: Vec<&str> =
        recalled["memories"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert!(contents.contains(&"Alice's favourite colour is green"), "{contents:?}");
    assert!(contents.contains(&"Everyone here likes the colour orange"), "shared memories too: {contents:?}");
    assert!(!contents.iter().any(|c| c.contains("Bob")), "never another user's: {contents:?}");
    assert!(recalled["memories"][0]["score"].is_number());
    let messages = fake.requests()[0].body["messages"].as_array().unwrap().clone();
    assert_eq!(messages[0]["content"], "You are terse.");
    assert_eq!(messages[1]["role"], "system");
    let memory_prompt = messages[1]["content"].as_str().unwrap();
    assert!(memory_prompt.contains("Alice's favourite colour is green"), "{memory_prompt}");
    assert!(!memory_prompt.contains("red"), "{memory_prompt}");
    assert_eq!(text_of(&all), "Green.");

    // The recall is part of the stored reply: a replay shows it in place.
    let reply_id = recalled["messageId"].as_str().unwrap();
    let path = format!("/v2/conversations/{alice}/messages/{reply_id}/stream");
    let replay = until_done(&mut crate::chat::events(
        app.stream_request(reqwest::Method::GET, &path, None, &[("Last-Event-ID", "1")]).await,
    ))
    .await;
    assert_eq!(replay[0].event, "memory.recalled");
    assert_eq!(&replay[0].data, recalled);

    // Nothing relevant: no recall event, no memory prompt.
    fake.push(FakeResponse::text(&["Ok."]));
    let quiet = until_done(&mut app.stream_message(&alice, "Tell me a joke about trains").await).await;
    assert!(of_kind(&quiet, "memory.recalled").is_empty());
    assert_eq!(fake.requests()[1].body["messages"][1]["role"], "user");
    // Memory disabled: nothing is recalled.
    let patch = app.patch(&format!("/v2/agents/{agent_id}"), json!({ "memory": { "enabled": false } })).await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
    fake.push(FakeResponse::text(&["Ok."]));
    let off = until_done(&mut app.stream_message(&alice, "What is my favourite colour?").await).await;
    assert!(of_kind(&off, "memory.recalled").is_empty());
}

async fn the_memory_skill_remembers_a_user_across_conversations(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (agent_id, first) = tool_conversation(&app, &[("memory", json!({ "scope": "user" }))]).await;
    let enable = app.patch(&format!("/v2/agents/{agent_id}"), json!({ "memory": { "enabled": true } })).await;
    assert_eq!(enable.status, StatusCode::OK, "{}", enable.text);
    let open = |user: &'static str| {
        let app = &app;
        let agent_id = agent_id.clone();
        async move {
            let reply =
                app.post("/v2/conversations", json!({ "agentId": agent_id, "context": { "userId": user } })).await;
            reply.body["id"].as_str().unwrap().to_owned()
        }
    };
    // A conversation without a user has nobody to remember for: nothing is saved as everyone's.
    let anonymous =
        until_done(&mut app.stream_message(&first, "/tool memory_save {\"content\": \"I am Carol\"}").await).await;
    assert_eq!(of_kind(&anonymous, "tool.result")[0]["error"]["code"], "tool_unavailable");
    assert_eq!(app.get("/v2/memories").await.body["pagination"]["total"], 0);
    let alice_1 = open("alice").await;
    let saved = until_done(
        &mut app
            .stream_message(
                &alice_1,
                "Remember this.\n/tool memory_save {\"content\": \"Alice is allergic to peanuts\", \"type\": \"fact\"}",
            )
            .await,
    )
    .await;
    let result = of_kind(&saved, "tool.result")[0];
    assert_eq!(result["result"]["saved"], true, "{result}");
    let memory_id = result["result"]["id"].as_str().unwrap();
    let stored = app.get(&format!("/v2/memories/{memory_id}")).await.body;
    assert_eq!(stored["userId"], "alice");
    assert_eq!(stored["conversationId"], alice_1.as_str(), "provenance: the conversation");
    let user_message =
        app.get(&format!("/v2/conversations/{alice_1}/messages")).await.body["messages"][0]["id"].clone();
    assert_eq!(stored["messageId"], user_message, "provenance: the message that led to it");

    // A new conversation with the same user recalls it, and the tool finds it.
    let alice_2 = open("alice").await;
    let later = until_done(
        &mut app
            .stream_message(&alice_2, "Any allergies I have?\n/tool memory_search {\"query\": \"allergies peanuts\"}")
            .await,
    )
    .await;
    let recalled = of_kind(&later, "memory.recalled");
    assert_eq!(recalled.len(), 1, "recalled at the start of the run");
    assert_eq!(recalled[0]["memories"][0]["id"], memory_id);
    let found = &of_kind(&later, "tool.result")[0]["result"]["memories"];
    assert_eq!(found[0]["content"], "Alice is allergic to peanuts", "{found}");
    // Another user neither recalls nor finds it.
    let bob = open("bob").await;
    let other =
        until_done(&mut app.stream_message(&bob, "Allergies?\n/tool memory_search {\"query\": \"peanuts\"}").await)
            .await;
    assert!(of_kind(&other, "memory.recalled").is_empty());
    assert_eq!(of_kind(&other, "tool.result")[0]["result"]["memories"], json!([]));
    // Bad arguments are the model's problem, not the server's.
    let bad = until_done(
        &mut app
            .stream_message(&bob, "/tool memory_save {\"content\": \"\"}\n/tool memory_search {\"query\": \"!!\"}")
            .await,
    )
    .await;
    let codes: Vec<&Value> = of_kind(&bad, "tool.result").iter().map(|r| &r["error"]["code"]).collect();
    assert_eq!(codes, [&json!("invalid_arguments"), &json!("invalid_arguments")]);
}

async fn conversation_scoped_memories_stay_in_their_conversation(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (agent_id, _) = tool_conversation(&app, &[("memory", json!({ "scope": "conversation" }))]).await;
    let enable = app.patch(&format!("/v2/agents/{agent_id}"), json!({ "memory": { "enabled": true } })).await;
    assert_eq!(enable.status, StatusCode::OK);
    let open = || {
        let app = &app;
        let agent_id = agent_id.clone();
        async move {
            let reply =
                app.post("/v2/conversations", json!({ "agentId": agent_id, "context": { "userId": "alice" } })).await;
            reply.body["id"].as_str().unwrap().to_owned()
        }
    };
    let (here, there) = (open().await, open().await);
    let saved = until_done(
        &mut app.stream_message(&here, "/tool memory_save {\"content\": \"The surprise party is on Friday\"}").await,
    )
    .await;
    assert_eq!(of_kind(&saved, "tool.result")[0]["result"]["saved"], true);
    // The same user in another conversation neither recalls nor finds it…
    let elsewhere = until_done(
        &mut app
            .stream_message(&there, "When is the surprise party?\n/tool memory_search {\"query\": \"surprise party\"}")
            .await,
    )
    .await;
    assert!(of_kind(&elsewhere, "memory.recalled").is_empty(), "{elsewhere:#?}");
    assert_eq!(of_kind(&elsewhere, "tool.result")[0]["result"]["memories"], json!([]));
    // …while its own conversation does.
    let again = until_done(&mut app.stream_message(&here, "When is the surprise party?").await).await;
    assert_eq!(of_kind(&again, "memory.recalled").len(), 1, "{again:#?}");
}
