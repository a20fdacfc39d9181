//! `POST /v2/batch` and GraphQL request batching.
use serde_json::{Value, json};

use crate::{
    db_tests,
    helpers::{Backend, spawn_app},
};

db_tests!(
    batch_runs_operations_in_order_with_references,
    the_seed_batch_runs_as_written,
    oversized_batches_run_nothing,
    each_operation_is_authorised_on_its_own,
    graphql_accepts_an_array_of_operations,
);

async fn batch_runs_operations_in_order_with_references(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, _) = app.echo_conversation().await;
    let reply = app
        .post(
            "/v2/batch",
            json!({ "operations": [
                { "method": "POST", "path": "/conversations", "body": { "agentId": agent } },
                { "method": "POST", "path": "/conversations/{{0.body.id}}/messages", "body": { "content": "消息1" } },
                { "method": "POST", "path": "/conversations/{{0.body.id}}/messages", "body": { "content": "消息2" } },
                { "method": "GET", "path": "/v2/conversations/{{0.body.id}}/messages" },
                { "method": "GET", "path": "/conversations/{{9.body.id}}" },
                { "method": "GET", "path": "/agents/agent-nope" },
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [201, 200, 200, 200, 400, 404], "{}", reply.text);
    assert_eq!(results[1]["body"]["reply"]["content"], "Echo: 消息1");
    assert_eq!(results[2]["body"]["reply"]["content"], "Echo: 消息2");
    assert_eq!(results[3]["body"]["messages"].as_array().unwrap().len(), 4);
    assert_eq!(results[4]["body"]["error"]["code"], "invalid_operation");
    assert_eq!(results[5]["body"]["error"]["code"], "not_found");
}

async fn the_seed_batch_runs_as_written(backend: Backend) {
    let app = spawn_app(backend).await;
    // The announcement's body verbatim: its ids are placeholders, so each operation answers on its own.
    let reply = app
        .post(
            "/v2/batch",
            json!({ "operations": [
                { "method": "POST", "path": "/conversations", "body": { "agentId": "agent-1" } },
                { "method": "POST", "path": "/conversations/conv-1/messages", "body": { "content": "消息1" } },
                { "method": "POST", "path": "/conversations/conv-1/messages", "body": { "content": "消息2" } }
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let codes: Vec<(Value, Value)> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status"].clone(), r["body"]["error"]["code"].clone()))
        .collect();
    assert_eq!(codes, [(json!(400), json!("validation_error")), (json!(404), json!("not_found")), (json!(404), json!("not_found"))]);
}

async fn oversized_batches_run_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let ops: Vec<Value> = (0..11).map(|_| json!({ "method": "POST", "path": "/conversations", "body": { "agentId": agent } })).collect();
    let reply = app.post("/v2/batch", json!({ "operations": ops })).await;
    reply.assert_error(400, "batch_too_large");
    assert_eq!(app.get("/v2/conversations").await.body["conversations"], json!([]), "nothing ran");
    let pro = app.create_key("tenant-pro", openclaw::auth::Plan::Pro, &["*"]).await;
    let ops: Vec<Value> = (0..11).map(|_| json!({ "method": "GET", "path": "/skills" })).collect();
    let reply = app.send(reqwest::Method::POST, "/v2/batch", Some(&pro), Some(json!({ "operations": ops }))).await;
    assert_eq!(reply.status, 200, "pro allows 50: {}", reply.text);
    app.post("/v2/batch", json!({ "operations": [] })).await.assert_error(400, "validation_error");
    app.post("/v2/batch", json!({ "ops": [] })).await.assert_error(400, "invalid_json");
    let nested = app.post("/v2/batch", json!({ "operations": [{ "method": "POST", "path": "/batch", "body": {} }] })).await;
    assert_eq!(nested.body["results"][0]["status"], 400);
}

async fn each_operation_is_authorised_on_its_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let reader = app.create_key("tenant-a", openclaw::auth::Plan::Free, &["agents:read"]).await;
    let reply = app
        .send(
            reqwest::Method::POST,
            "/v2/batch",
            Some(&reader),
            Some(json!({ "operations": [
                { "method": "GET", "path": format!("/agents/{agent}") },
                { "method": "POST", "path": "/conversations", "body": { "agentId": agent } },
            ]})),
        )
        .await;
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], 200);
    assert_eq!(results[1]["status"], 403);
    assert_eq!(results[1]["body"]["error"]["code"], "forbidden");
    let anonymous = app.client.post(app.url("/v2/batch")).json(&json!({ "operations": [] })).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn graphql_accepts_an_array_of_operations(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .post(app.url("/v2/graphql"))
        .header("X-API-Key", &app.key)
        .json(&json!([{ "query": "{ viewer { accountId } }" }, { "query": "{ nope }" }, { "query": "{ skills(limit: 1) { pagination { total } } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let items = body.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0]["data"]["viewer"]["accountId"].is_string());
    assert!(items[1]["errors"].is_array() && items[1].get("data").is_none());
    assert!(items[2]["data"]["skills"]["pagination"]["total"].as_u64().unwrap() > 0);
    let too_many: Vec<Value> = (0..11).map(|_| json!({ "query": "{ viewer { accountId } }" })).collect();
    let response = app.client.post(app.url("/v2/graphql")).header("X-API-Key", &app.key).json(&too_many).send().await.unwrap();
    assert_eq!(response.status(), 400);
}
