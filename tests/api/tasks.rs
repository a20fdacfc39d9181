//! Async tasks: analysis of a real CSV into statistics and PNG charts, callbacks, cancel, agent runs, leases.
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::{
    db_tests,
    helpers::{Backend, TestApp, spawn_app},
    receiver::{Receiver, verify},
};

db_tests!(
    analysis_summarizes_and_charts_a_csv_and_calls_back,
    bad_analysis_input_fails_the_task_clearly,
    invalid_tasks_are_refused_and_nothing_is_queued,
    tasks_can_be_cancelled_and_other_tenants_see_nothing,
    agent_run_task_stores_the_reply,
    a_task_whose_worker_died_is_reclaimed_after_its_lease,
);

const WAIT: Duration = Duration::from_secs(30);

pub async fn wait_task(app: &TestApp, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let task = app.get(&format!("/v2/tasks/{id}")).await;
        assert_eq!(task.status, 200, "{}", task.text);
        if !["queued", "running"].contains(&task.body["status"].as_str().unwrap()) {
            return task.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "task never ended: {}", task.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const CSV: &str =
    "city,price,rooms,furnished\nParis,1200,2,yes\nLyon,800,3,no\nNice,950,,yes\nLyon,700,1,no\nParis,1500,4,yes\n";

async fn analysis_summarizes_and_charts_a_csv_and_calls_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.serve_file("/data.csv", "text/csv", CSV.as_bytes().to_vec());
    // The announcement's body, verbatim but for the URLs.
    let created = app
        .post(
            "/v2/tasks",
            json!({
                "type": "analysis",
                "input": { "fileUrl": receiver.url("/data.csv"), "operations": ["summarize", "visualize"] },
                "callback": { "url": receiver.url("/webhook"), "headers": { "X-Signature": "sha256=..." } }
            }),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    assert!(["queued", "running"].contains(&created.body["status"].as_str().unwrap()));
    let secret = created.body["callbackSecret"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("task-"));
    let task = wait_task(&app, &id).await;
    assert_eq!(task["status"], "completed", "{task:#}");
    assert_eq!(task["progress"], 100);
    assert!(task["completedAt"].is_string() && task["startedAt"].is_string());
    assert_eq!(task["callbackSecret"], Value::Null, "the secret is shown once");
    let result = &task["result"];
    assert!(result["summary"].as_str().is_some_and(|s| s.contains('5')), "{result:#}");
    let stats = &result["statistics"];
    assert_eq!(stats["rowCount"], 5);
    assert_eq!(stats["columnCount"], 4);
    let price = stats["columns"].as_array().unwrap().iter().find(|c| c["name"] == "price").unwrap();
    assert_eq!(price["mean"], 1030.0);
    assert_eq!(price["median"], 950.0);
    assert_eq!(price["min"], 700.0);
    let rooms = stats["columns"].as_array().unwrap().iter().find(|c| c["name"] == "rooms").unwrap();
    assert_eq!(rooms["missing"], 1);
    let charts = result["charts"].as_array().unwrap();
    assert!(charts.len() >= 2, "{result:#}");
    for chart in charts {
        let response =
            app.client.get(app.url(chart.as_str().unwrap())).header("X-API-Key", &app.key).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/png");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }
    let other = app.create_key("tenant-b", openclaw::auth::Plan::Free, &["*"]).await;
    let foreign =
        app.client.get(app.url(charts[0].as_str().unwrap())).header("X-API-Key", &other).send().await.unwrap();
    assert_eq!(foreign.status(), 404, "another tenant's chart");
    // The callback: the task itself, signed, with the caller's header.
    let received = receiver.wait_for(1, WAIT).await;
    let callback = received.iter().find(|r| r.path == "/webhook").unwrap();
    verify(callback, &secret);
    assert_eq!(callback.header("x-signature"), "sha256=...");
    assert_eq!(callback.header("x-openclaw-event"), "task.completed");
    assert_eq!(callback.json()["id"], id.as_str());
    assert_eq!(callback.json()["status"], "completed");
    // Events: created, progress rising, completed.
    let events = app.get("/v2/events?limit=100").await;
    let mine: Vec<&Value> =
        events.body["events"].as_array().unwrap().iter().filter(|e| e["subjectId"] == id.as_str()).collect();
    assert_eq!(mine.first().unwrap()["type"], "task.created");
    assert_eq!(mine.last().unwrap()["type"], "task.completed");
    let progress: Vec<i64> =
        mine.iter().filter(|e| e["type"] == "task.progress").map(|e| e["data"]["progress"].as_i64().unwrap()).collect();
    assert!(progress.len() >= 3 && progress.windows(2).all(|w| w[0] < w[1]), "progress must rise: {progress:?}");
}

async fn bad_analysis_input_fails_the_task_clearly(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.serve_file("/image.png", "image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec());
    for (url, code) in [(receiver.url("/image.png"), None), (receiver.url("/missing.csv"), Some("input_unavailable"))] {
        let created = app.post("/v2/tasks", json!({ "type": "analysis", "input": { "fileUrl": url } })).await;
        assert_eq!(created.status, 202, "{}", created.text);
        let task = wait_task(&app, created.body["id"].as_str().unwrap()).await;
        assert_eq!(task["status"], "failed", "{task:#}");
        assert_eq!(task["attempts"], 1, "bad input is not retried");
        if let Some(code) = code {
            assert_eq!(task["error"]["code"], code, "{task:#}");
        }
        assert!(!task["error"]["message"].as_str().unwrap().is_empty());
    }
    let events = app.get("/v2/events?type=task.failed").await;
    assert_eq!(events.body["events"].as_array().unwrap().len(), 2);
}

async fn invalid_tasks_are_refused_and_nothing_is_queued(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (json!({ "type": "teleport", "input": {} }), "type"),
        (json!({ "type": "analysis", "input": {} }), "input"),
        (json!({ "type": "analysis", "input": { "fileUrl": "http://127.0.0.1/x.csv", "fileId": "file-1" } }), "input"),
        (json!({ "type": "analysis", "input": { "fileId": "file-nope" } }), "input.fileId"),
        (
            json!({ "type": "analysis", "input": { "fileUrl": "http://127.0.0.1/x.csv", "operations": ["dance"] } }),
            "input.operations",
        ),
        (json!({ "type": "agent.run", "input": { "agentId": "agent-nope", "content": "hi" } }), "input.agentId"),
        (json!({ "type": "agent.run", "input": { "content": "hi" } }), "input"),
        (json!({ "type": "noop", "input": { "sleepMs": -1 } }), "input.sleepMs"),
        (json!({ "type": "noop", "input": {}, "timeoutSeconds": 0 }), "timeoutSeconds"),
        (
            json!({ "type": "noop", "input": {}, "callback": { "url": "http://127.0.0.1:9/", "headers": { "X-OpenClaw-Signature": "x" } } }),
            "callback.headers",
        ),
    ];
    for (body, field) in cases {
        let reply = app.post("/v2/tasks", body.clone()).await;
        reply.assert_error(400, "validation_error");
        assert_eq!(reply.field(), field, "{body}: {}", reply.text);
    }
    assert_eq!(app.get("/v2/tasks").await.body["tasks"], json!([]));
}

async fn tasks_can_be_cancelled_and_other_tenants_see_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.post("/v2/tasks", json!({ "type": "noop", "input": { "sleepMs": 20000 } })).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    // Wait until a worker has it.
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.get(&format!("/v2/tasks/{id}")).await.body["status"] != "running" {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other = app.create_key("tenant-b", openclaw::auth::Plan::Free, &["*"]).await;
    app.send(reqwest::Method::GET, &format!("/v2/tasks/{id}"), Some(&other), None).await.assert_error(404, "not_found");
    app.send(reqwest::Method::POST, &format!("/v2/tasks/{id}/cancel"), Some(&other), None)
        .await
        .assert_error(404, "not_found");
    let cancelled = app.post(&format!("/v2/tasks/{id}/cancel"), json!({})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    app.post(&format!("/v2/tasks/{id}/cancel"), json!({})).await.assert_error(409, "task_not_cancellable");
    // The worker stopped: it stays cancelled, and a new task runs at once.
    let quick = app.post("/v2/tasks", json!({ "type": "noop", "input": {} })).await;
    let quick = wait_task(&app, quick.body["id"].as_str().unwrap()).await;
    assert_eq!(quick["status"], "completed");
    assert_eq!(app.get(&format!("/v2/tasks/{id}")).await.body["status"], "cancelled");
    let list = app.get("/v2/tasks?status=cancelled").await;
    assert_eq!(list.body["tasks"][0]["id"], id.as_str());
    app.get("/v2/tasks?status=sleeping").await.assert_error(400, "validation_error");
}

async fn agent_run_task_stores_the_reply(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, _) = app.echo_conversation().await;
    let created = app
        .post("/v2/tasks", json!({ "type": "agent.run", "input": { "agentId": agent, "content": "long job" } }))
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    let task = wait_task(&app, created.body["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task:#}");
    assert_eq!(task["result"]["reply"]["content"], "Echo: long job");
    let conversation = task["result"]["conversationId"].as_str().unwrap();
    let messages = app.get(&format!("/v2/conversations/{conversation}/messages")).await;
    assert_eq!(messages.body["messages"].as_array().unwrap().len(), 2);
}

async fn a_task_whose_worker_died_is_reclaimed_after_its_lease(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = openclaw::services::accounts::find_or_create(&app.state.db, "tenant-a", openclaw::auth::Plan::Free)
        .await
        .unwrap();
    let now = Utc::now();
    // A task a worker claimed and then died holding: its lease ran out a second ago.
    let orphan = entity::task::ActiveModel {
        id: Set("task-0000000000000000000000000000dead".into()),
        account_id: Set(account.id.clone()),
        kind: Set("noop".into()),
        input: Set(json!({})),
        status: Set("running".into()),
        progress: Set(50),
        result: Set(None),
        error: Set(None),
        callback: Set(None),
        attempts: Set(1),
        max_attempts: Set(3),
        timeout_secs: Set(60),
        run_after: Set(now),
        lease_until: Set(Some(now - chrono::Duration::seconds(1))),
        lease_owner: Set(Some("dead-worker".into())),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(Some(now)),
        completed_at: Set(None),
    };
    orphan.insert(&app.state.db).await.unwrap();
    let task = wait_task(&app, "task-0000000000000000000000000000dead").await;
    assert_eq!(task["status"], "completed", "{task:#}");
    assert_eq!(task["attempts"], 2, "re-claimed once");
}
