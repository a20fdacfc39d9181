//! `POST /v2/batch` and GraphQL request batching.
use serde_json::{Value, json};

use std::time::Duration;

use crate::{
    db_tests,
    helpers::{Backend, TestApp, seed_agent_body, spawn_app},
    receiver::Receiver,
    websocket,
};

const WAIT: Duration = Duration::from_secs(20);

db_tests!(
    batch_runs_operations_in_order_with_references,
    the_seed_batch_runs_as_written,
    oversized_batches_run_nothing,
    each_operation_is_authorised_on_its_own,
    graphql_accepts_an_array_of_operations,
    an_atomic_batch_commits_everything_then_announces_it,
    a_failing_atomic_batch_leaves_no_trace,
    an_atomic_batch_refuses_model_runs_and_counts_graphql_errors,
    streams_never_run_inside_a_batch,
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
    assert_eq!(
        codes,
        [(json!(400), json!("validation_error")), (json!(404), json!("not_found")), (json!(404), json!("not_found"))]
    );
}

async fn oversized_batches_run_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let ops: Vec<Value> =
        (0..11).map(|_| json!({ "method": "POST", "path": "/conversations", "body": { "agentId": agent } })).collect();
    let reply = app.post("/v2/batch", json!({ "operations": ops })).await;
    reply.assert_error(400, "batch_too_large");
    assert_eq!(app.get("/v2/conversations").await.body["conversations"], json!([]), "nothing ran");
    let pro = app.create_key("tenant-pro", openclaw::auth::Plan::Pro, &["*"]).await;
    let ops: Vec<Value> = (0..11).map(|_| json!({ "method": "GET", "path": "/skills" })).collect();
    let reply = app.send(reqwest::Method::POST, "/v2/batch", Some(&pro), Some(json!({ "operations": ops }))).await;
    assert_eq!(reply.status, 200, "pro allows 50: {}", reply.text);
    app.post("/v2/batch", json!({ "operations": [] })).await.assert_error(400, "validation_error");
    app.post("/v2/batch", json!({ "ops": [] })).await.assert_error(400, "invalid_json");
    let nested =
        app.post("/v2/batch", json!({ "operations": [{ "method": "POST", "path": "/batch", "body": {} }] })).await;
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
    let response =
        app.client.post(app.url("/v2/graphql")).header("X-API-Key", &app.key).json(&too_many).send().await.unwrap();
    assert_eq!(response.status(), 400);
}

fn echo_agent(name: &str) -> Value {
    let mut body = seed_agent_body();
    body["name"] = json!(name);
    body["model"] = json!("echo");
    body
}

async fn subscribe_receiver(app: &TestApp, receiver: &Receiver, events: Value) -> String {
    let reply = app.post("/v2/webhooks", json!({ "url": receiver.url("/hook"), "events": events })).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn event_types(app: &TestApp) -> Vec<String> {
    let reply = app.get("/v2/events?limit=100").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

async fn an_atomic_batch_commits_everything_then_announces_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    subscribe_receiver(&app, &receiver, json!(["conversation.created", "agent.updated", "task.completed"])).await;
    let reply = app
        .post(
            "/v2/batch",
            json!({ "atomic": true, "operations": [
                { "method": "POST", "path": "/agents", "body": echo_agent("原子") },
                { "method": "POST", "path": "/conversations", "body": { "agentId": "{{0.body.id}}" } },
                { "method": "PATCH", "path": "/agents/{{0.body.id}}", "body": { "description": "updated in the batch" } },
                { "method": "GET", "path": "/agents/{{0.body.id}}" },
                { "method": "POST", "path": "/tasks", "body": { "type": "noop", "input": {} } },
                { "method": "POST", "path": "/graphql", "body": { "query": "query($id: ID!) { agent(id: $id) { name skills { id } } }", "variables": { "id": "{{0.body.id}}" } } },
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["committed"], true, "{}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [201, 201, 200, 200, 202, 200], "{}", reply.text);
    // A later operation reads what an earlier one wrote inside the same, still uncommitted, transaction.
    assert_eq!(results[3]["body"]["description"], "updated in the batch");
    // …also through GraphQL, whose skills dataloader reads through the batch's transaction too.
    assert_eq!(results[5]["body"]["data"]["agent"]["name"], "原子", "{}", reply.text);
    assert_eq!(results[5]["body"]["data"]["agent"]["skills"].as_array().unwrap().len(), 2, "{}", reply.text);
    // Committed: visible to ordinary requests, recorded as events, delivered, and the task worker ran the task.
    let conversation = results[1]["body"]["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v2/conversations/{conversation}")).await.status, 200);
    let task = results[4]["body"]["id"].as_str().unwrap().to_owned();
    let mut status = Value::Null;
    for _ in 0..200 {
        status = app.get(&format!("/v2/tasks/{task}")).await.body["status"].clone();
        if status == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "completed", "the task queued by the batch runs once it commits");
    let types = event_types(&app).await;
    for expected in ["conversation.created", "agent.updated", "task.created", "task.completed"] {
        assert!(types.iter().any(|t| t == expected), "{expected} missing from {types:?}");
    }
    let received: Vec<String> =
        receiver.wait_for(3, WAIT).await.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    for expected in ["conversation.created", "agent.updated", "task.completed"] {
        assert!(received.iter().any(|t| t == expected), "{expected} not delivered: {received:?}");
    }
}

async fn a_failing_atomic_batch_leaves_no_trace(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    let hook = subscribe_receiver(&app, &receiver, json!(["*"])).await;
    let events_before = event_types(&app).await;
    let seeded = app.seed_agent().await;
    // A live subscriber: whatever the bus announces reaches it in order.
    let mut ws = websocket::connect(&app, "graphql-transport-ws").await;
    websocket::send(&mut ws, json!({ "type": "connection_init", "payload": { "X-API-Key": app.key } })).await;
    assert_eq!(websocket::next_json(&mut ws).await["type"], "connection_ack");
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { events { type subjectId } }" } });
    websocket::send(&mut ws, subscribe).await;
    websocket::wait_for_subscribers(&app, 1).await;
    let agent = echo_agent("never");
    let reply = app
        .post(
            "/v2/batch",
            json!({ "atomic": true, "operations": [
                { "method": "POST", "path": "/agents", "body": agent, "headers": { "Idempotency-Key": "atomic-1" } },
                { "method": "POST", "path": "/conversations", "body": { "agentId": "{{0.body.id}}" } },
                { "method": "PATCH", "path": "/agents/{{0.body.id}}", "body": { "name": "renamed" } },
                { "method": "POST", "path": "/tasks", "body": { "type": "noop", "input": {} } },
                { "method": "POST", "path": format!("/webhooks/{hook}/test") },
                { "method": "GET", "path": "/agents/agent-nope" },
                { "method": "GET", "path": "/skills" },
            ]}),
        )
        .await;
    assert_eq!(reply.status, 404, "the failing operation's status: {}", reply.text);
    assert_eq!(reply.body["error"]["code"], "batch_rolled_back", "{}", reply.text);
    assert_eq!(reply.body["error"]["operation"], 5);
    assert_eq!(reply.body["committed"], false);
    let results = reply.body["results"].as_array().unwrap();
    let outcome: Vec<(u64, &str)> =
        results.iter().map(|r| (r["status"].as_u64().unwrap(), r["body"]["error"]["code"].as_str().unwrap())).collect();
    let rolled_back = (424, "rolled_back");
    assert_eq!(
        outcome,
        [rolled_back, rolled_back, rolled_back, rolled_back, rolled_back, (404, "not_found"), (424, "not_run")]
    );
    // Nothing stored: no agent, conversation, task, delivery or event — and the idempotency key is free again.
    assert_eq!(app.get("/v2/agents").await.body["pagination"]["total"], 1, "only the seeded agent");
    assert_eq!(app.get("/v2/conversations").await.body["conversations"], json!([]));
    assert_eq!(app.get("/v2/tasks").await.body["tasks"], json!([]));
    assert_eq!(app.get(&format!("/v2/webhooks/{hook}/deliveries")).await.body["deliveries"], json!([]));
    assert_eq!(event_types(&app).await, events_before);
    let retry = app
        .client
        .post(app.url("/v2/agents"))
        .header("X-API-Key", &app.key)
        .header("Idempotency-Key", "atomic-1")
        .json(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 201);
    assert!(retry.headers().get("idempotent-replayed").is_none(), "the rolled-back key must not replay");
    // Neither the bus nor the webhook worker heard of the rolled-back changes: the first thing each gets is the
    // next committed change.
    let after = app.patch(&format!("/v2/agents/{seeded}"), json!({ "description": "after" })).await;
    assert_eq!(after.status, 200, "{}", after.text);
    let next = websocket::next_json(&mut ws).await;
    assert_eq!(next["payload"]["data"]["events"], json!({ "type": "agent.updated", "subjectId": seeded }), "{next}");
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received[0].json()["type"], "agent.updated");
    assert_eq!(received[0].json()["data"]["agentId"], seeded.as_str());
}

async fn an_atomic_batch_refuses_model_runs_and_counts_graphql_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let reply = app
        .post(
            "/v2/batch",
            json!({ "atomic": true, "operations": [
                { "method": "POST", "path": "/conversations", "body": { "agentId": agent } },
                { "method": "POST", "path": "/conversations/{{0.body.id}}/messages", "body": { "content": "hi" } },
            ]}),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["results"][1]["body"]["error"]["code"], "not_atomic", "{}", reply.text);
    assert_eq!(app.get("/v2/conversations").await.body["conversations"], json!([]), "the conversation was rolled back");
    // A GraphQL operation answers 200 with `errors`: that is a failure too.
    let reply = app
        .post(
            "/v2/batch",
            json!({ "atomic": true, "operations": [
                { "method": "POST", "path": "/conversations", "body": { "agentId": agent } },
                { "method": "POST", "path": "/graphql", "body": { "query": "mutation { deleteAgent(id: \"agent-nope\") { id } }" } },
            ]}),
        )
        .await;
    assert_eq!(reply.body["committed"], false, "{}", reply.text);
    assert_eq!(reply.body["error"]["operation"], 1, "{}", reply.text);
    assert_eq!(app.get("/v2/conversations").await.body["conversations"], json!([]));
    // Still all-or-nothing for validation: an operation that cannot even be built fails the batch.
    let reply = app
        .post(
            "/v2/batch",
            json!({ "atomic": true, "operations": [
                { "method": "POST", "path": "/conversations", "body": { "agentId": agent } },
                { "method": "GET", "path": "/conversations/{{7.body.id}}" },
            ]}),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["results"][1]["body"]["error"]["code"], "invalid_operation");
    assert_eq!(app.get("/v2/conversations").await.body["conversations"], json!([]));
}

async fn streams_never_run_inside_a_batch(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let reply = app
        .post(
            "/v2/batch",
            json!({ "atomic": true, "operations": [
                { "method": "GET", "path": format!("/agents/{agent}") },
                // A reference that resolves to `true` is caught after resolution.
                { "method": "POST", "path": "/conversations/conv-x/messages", "body": { "content": "hi", "stream": "{{0.body.memory.enabled}}" } },
            ]}),
        )
        .await;
    assert_eq!(reply.body["results"][1]["body"]["error"]["code"], "invalid_operation", "{}", reply.text);
    let reply = app
        .post("/v2/batch", json!({ "operations": [{ "method": "GET", "path": "/conversations/c/messages/m/stream" }] }))
        .await;
    assert_eq!(reply.body["results"][0]["body"]["error"]["code"], "invalid_operation", "{}", reply.text);
    // A GraphQL subscription asked for as an event stream is answered as JSON (a request error), never left open.
    let subscription = json!({ "query": "subscription { events { type } }" });
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        app.post(
            "/v2/batch",
            json!({ "operations": [{ "method": "POST", "path": "/graphql", "body": subscription, "headers": { "Accept": "text/event-stream" } }] }),
        ),
    )
    .await
    .expect("the batch answers instead of waiting on a stream");
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.body["results"][0]["body"]["errors"].is_array(), "{}", reply.text);
}
