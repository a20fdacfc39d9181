//! User-supplied JSON Schemas that would hang or exhaust the server (reference cycles, exponential reference
//! fan-out, remote references, giant or backtracking patterns) are refused when a custom skill is registered,
//! and one already stored is refused again, with a clear error, when it is installed or called. A legitimately
//! recursive schema (a tree, recursing through `items`) registers and works.
use axum::{Json, Router, routing::post};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Map, Value, json};

use crate::{
    chat::until_done,
    db_tests,
    helpers::{Backend, TestApp, read, spawn_app_with},
    tools::{of_kind, tool_conversation},
};

db_tests!(
    bomb_schemas_are_refused_at_registration_and_the_server_stays_up,
    a_recursive_tree_schema_registers_installs_and_is_called,
    a_stored_bomb_schema_is_refused_at_install_and_call,
);

/// A skill endpoint answering `{"ok": true, "arguments": …}`.
async fn endpoint() -> String {
    let router = Router::new().route(
        "/skill",
        post(|Json(body): Json<Value>| async move { Json(json!({ "ok": true, "arguments": body["arguments"] })) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/skill")
}

/// The model (the echo model's `/tool` command) calls `tool`; its `tool.result` event.
async fn call_tool(app: &TestApp, conversation: &str, tool: &str, arguments: Value) -> Value {
    let content = format!("/tool {tool} {arguments}");
    let events = until_done(&mut app.stream_message(conversation, &content).await).await;
    of_kind(&events, "tool.result")[0].clone()
}

fn skill(endpoint: &str, parameters: Value, config_schema: Option<Value>) -> Value {
    let mut body = json!({ "name": "Tree walker", "description": "Walks a tree.", "parameters": parameters, "endpoint": endpoint });
    if let Some(config_schema) = config_schema {
        body["configSchema"] = config_schema;
    }
    body
}

/// The a → b → a cycle of the issue.
fn cycle() -> Value {
    json!({ "type": "object", "$ref": "#/$defs/a", "$defs": { "a": { "$ref": "#/$defs/b" }, "b": { "$ref": "#/$defs/a" } } })
}

fn tree() -> Value {
    json!({ "type": "object", "required": ["name"], "properties": {
        "name": { "type": "string", "pattern": "^[a-z]+$" },
        "children": { "type": "array", "items": { "$ref": "#" } } } })
}

/// Resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn bomb_schemas_are_refused_at_registration_and_the_server_stays_up(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let endpoint = endpoint().await;
    // d0 = allOf[d1, d1] …: 2^16 subschemas once inlined, from a 1 KiB document.
    let mut fan_out = Map::new();
    for i in 0..16 {
        let next = format!("#/$defs/d{}", i + 1);
        fan_out.insert(format!("d{i}"), json!({ "allOf": [{ "$ref": next }, { "$ref": next }] }));
    }
    fan_out.insert("d16".into(), json!({ "type": "string" }));
    let mut deep = json!({ "type": "string" });
    for _ in 0..40 {
        deep = json!({ "type": "array", "items": deep });
    }
    let bombs = [
        ("a → b → a", cycle(), "cycle"),
        ("self", json!({ "type": "object", "allOf": [{ "$ref": "#" }] }), "cycle"),
        (
            "unresolvable",
            json!({ "type": "object", "properties": { "a": { "$ref": "#/$defs/nope" } } }),
            "does not resolve",
        ),
        (
            "remote",
            json!({ "type": "object", "properties": { "a": { "$ref": "http://127.0.0.1:9/s.json" } } }),
            "not a local reference",
        ),
        (
            "file",
            json!({ "type": "object", "properties": { "a": { "$ref": "file:///etc/passwd" } } }),
            "not a local reference",
        ),
        (
            "fan-out",
            json!({ "type": "object", "$defs": fan_out, "properties": { "x": { "$ref": "#/$defs/d0" } } }),
            "expands",
        ),
        ("deep", json!({ "type": "object", "properties": { "a": deep } }), "deep"),
        ("big", json!({ "type": "object", "description": "x".repeat(40 * 1024) }), "32 KiB"),
        (
            "long pattern",
            json!({ "type": "object", "properties": { "a": { "type": "string", "pattern": "a".repeat(2000) } } }),
            "longer",
        ),
        (
            "backtracking pattern",
            json!({ "type": "object", "properties": { "a": { "type": "string", "pattern": "^(a+)+\\1$" } } }),
            "not a valid JSON Schema",
        ),
    ];
    let before = rss_kib();
    for (name, bomb, says) in bombs {
        for (field, body) in [
            ("parameters", skill(&endpoint, bomb.clone(), None)),
            ("configSchema", skill(&endpoint, json!({ "type": "object" }), Some(bomb.clone()))),
        ] {
            let refused = app.post("/v2/skills", body).await;
            refused.assert_error(400, "validation_error");
            assert_eq!(refused.field(), field, "{name}: {}", refused.text);
            let message = refused.body["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{name}: {message}");
        }
    }
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 200, "memory grew by {grown_mib} MiB across the refused schemas");
    let health = read(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    assert_eq!(app.get("/v2/skills?category=custom").await.body["pagination"]["total"], 0, "nothing was registered");
}

async fn a_recursive_tree_schema_registers_installs_and_is_called(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let endpoint = endpoint().await;
    let config_schema = json!({ "type": "object", "$defs": { "node": { "type": "object",
        "properties": { "label": { "type": "string" }, "children": { "type": "array", "items": { "$ref": "#/$defs/node" } } } } },
        "properties": { "root": { "$ref": "#/$defs/node" } } });
    let registered = app.post("/v2/skills", skill(&endpoint, tree(), Some(config_schema))).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text);
    let id = registered.body["skill"]["id"].as_str().unwrap().to_owned();
    let (agent_id, conversation) = tool_conversation(&app, &[]).await;
    let install = |config: Value| {
        let app: &TestApp = &app;
        let path = format!("/v2/agents/{agent_id}/skills");
        let id = id.clone();
        async move { app.post(&path, json!({ "skillId": id, "config": config })).await }
    };
    let wrong = install(json!({ "root": { "children": [{ "label": 7 }] } })).await;
    wrong.assert_error(400, "validation_error");
    assert!(wrong.field().starts_with("config.root"), "{}", wrong.text);
    let installed = install(json!({ "root": { "label": "a", "children": [{ "label": "b", "children": [] }] } })).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.text);

    let tool = id.replace('-', "_");
    let arguments = json!({ "name": "root", "children": [{ "name": "leaf", "children": [{ "name": "deeper" }] }] });
    let called = call_tool(&app, &conversation, &tool, arguments.clone()).await;
    assert_eq!(called["result"], json!({ "ok": true, "arguments": arguments }), "{called}");
    let invalid =
        call_tool(&app, &conversation, &tool, json!({ "name": "root", "children": [{ "name": "Not Lowercase" }] }))
            .await;
    assert_eq!(invalid["error"]["code"], "invalid_arguments", "{invalid}");
}

/// A schema stored before registration checked it (written here straight to the database) is refused when used.
async fn a_stored_bomb_schema_is_refused_at_install_and_call(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let endpoint = endpoint().await;
    let registered = app.post("/v2/skills", skill(&endpoint, json!({ "type": "object" }), None)).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text);
    let id = registered.body["skill"]["id"].as_str().unwrap().to_owned();
    let (agent_id, conversation) = tool_conversation(&app, &[]).await;
    let installed = app.post(&format!("/v2/agents/{agent_id}/skills"), json!({ "skillId": id })).await;
    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.text);

    let db = &app.state.db;
    let stored = entity::skill::Entity::find_by_id(id.as_str()).one(db).await.unwrap().unwrap();
    let mut stored = stored.into_active_model();
    stored.parameters = Set(Some(cycle()));
    stored.update(db).await.unwrap();
    let release =
        entity::skill_version::Entity::find_by_id((id.clone(), "1.0.0".to_owned())).one(db).await.unwrap().unwrap();
    let mut release = release.into_active_model();
    release.config_schema = Set(cycle());
    release.update(db).await.unwrap();

    let called = call_tool(&app, &conversation, &id.replace('-', "_"), json!({})).await;
    assert_eq!(called["error"]["code"], "tool_unavailable", "{called}");
    assert!(called["error"]["message"].as_str().unwrap().contains("cycle"), "{called}");
    let (other_agent, _) = tool_conversation(&app, &[]).await;
    let refused = app.post(&format!("/v2/agents/{other_agent}/skills"), json!({ "skillId": id, "config": {} })).await;
    refused.assert_error(400, "validation_error");
    assert_eq!(refused.field(), "config", "{}", refused.text);
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("cycle"), "{}", refused.text);
    let health = read(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
}
