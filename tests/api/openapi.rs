//! The OpenAPI document is generated from the route table and describes every route.
use openclaw::rest::routes::ROUTES;
use reqwest::StatusCode;

use crate::helpers::{Backend, read, spawn_app};

async fn openapi_describes_every_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = read(app.client.get(app.url("/v2/openapi.json")).send().await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["openapi"], "3.1.0");
    for route in ROUTES {
        let operation = &reply.body["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
        assert_eq!(operation["operationId"], route.name, "{} {}", route.method, route.path);
        assert!(operation["responses"][route.status.as_str()].is_object(), "{} {}", route.method, route.path);
        if let Some(schema) = route.response_schema {
            assert!(reply.body["components"]["schemas"][schema].is_object(), "missing schema {schema}");
        }
        if let Some(schema) = route.request_schema {
            assert!(reply.body["components"]["schemas"][schema].is_object(), "missing schema {schema}");
        }
    }
}

/// Every route's stored document is valid against the schema: calling it never yields a GraphQL validation error.
async fn every_route_document_validates(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let conversation = app.open_conversation(&agent).await;
    let sent =
        app.post(&format!("/v2/conversations/{conversation}/messages"), serde_json::json!({"content": "hi"})).await;
    let reply = sent.body["reply"]["id"].as_str().unwrap().to_owned();
    let receiver = crate::receiver::Receiver::start().await;
    let hook = app.post("/v2/webhooks", serde_json::json!({"url": receiver.url("/"), "events": ["*"]})).await;
    let webhook = hook.body["id"].as_str().unwrap().to_owned();
    let ping = app.post(&format!("/v2/webhooks/{webhook}/test"), serde_json::json!({})).await;
    let delivery = ping.body["id"].as_str().unwrap().to_owned();
    let task = app.post("/v2/tasks", serde_json::json!({"type": "noop", "input": {"sleepMs": 30000}})).await;
    let task = task.body["id"].as_str().unwrap().to_owned();
    let part = reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("hello.txt");
    let uploaded = app
        .client
        .post(app.url("/v2/files"))
        .header("X-API-Key", &app.key)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let file = uploaded.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let receiver_skill = crate::receiver::Receiver::start().await;
    let custom = app
        .post(
            "/v2/skills",
            serde_json::json!({"name": "probe", "description": "d", "parameters": {"type": "object"}, "endpoint": receiver_skill.url("/s")}),
        )
        .await;
    let custom = custom.body["skill"]["id"].as_str().unwrap().to_owned();
    let tickets =
        app.patch(&format!("/v2/agents/{agent}/skills/ticket-system"), serde_json::json!({"enabled": true})).await;
    assert!(tickets.status.is_success(), "{}", tickets.text);
    let opened = app
        .post(
            &format!("/v2/conversations/{conversation}/messages"),
            serde_json::json!({"content": "/tool ticket_create {\"title\": \"probe\"}"}),
        )
        .await;
    assert!(opened.text.contains("tkt-"), "{}", opened.text);
    let ticket = app.get("/v2/tickets").await.body["tickets"][0]["id"].as_str().unwrap().to_owned();
    let memory = app.post("/v2/memories", serde_json::json!({"agentId": agent, "content": "likes tea"})).await;
    let memory = memory.body["id"].as_str().unwrap().to_owned();
    let events = app.get("/v2/events").await;
    let event = events.body["events"][0]["id"].as_str().unwrap().to_owned();
    // Deletions last, archiving (which stops messages) late, and the agent's own deletion very last, so every
    // route finds what it needs.
    let admin = app.create_key("operators", openclaw::auth::Plan::Enterprise, &["admin"]).await;
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|r| {
        (r.method == reqwest::Method::DELETE, r.name == "archiveConversation", r.name == "deleteAgent")
    });
    for route in routes {
        let path = route
            .path
            .replace("{agentId}", &agent)
            .replace("{skillId}", "knowledge-base")
            .replace("{conversationId}", &conversation)
            .replace("{messageId}", &reply)
            .replace("{webhookId}", &webhook)
            .replace("{deliveryId}", &delivery)
            .replace("{taskId}", &task)
            .replace("{eventId}", &event)
            .replace("{accountId}", "tenant-a")
            .replace("{fileId}", &file)
            .replace("{memoryId}", &memory)
            .replace("{ticketId}", &ticket);
        // The catalog's skills cannot be deleted: deleting one deletes the custom skill.
        let path = if route.name == "deleteSkill" { format!("/v2/skills/{custom}") } else { path };
        let body = match route.name {
            "createConversation" => Some(serde_json::json!({"agentId": agent})),
            "sendMessage" => Some(serde_json::json!({"content": "again"})),
            "createAgent" => Some(serde_json::json!({"name": "x"})),
            "updateAgent" => Some(serde_json::json!({"name": "y"})),
            "installSkill" => Some(serde_json::json!({"skillId": "calculator"})),
            "updateInstalledSkill" => Some(serde_json::json!({"enabled": false})),
            "createWebhook" => Some(serde_json::json!({"url": receiver.url("/2"), "events": ["task.completed"]})),
            "updateWebhook" => Some(serde_json::json!({"description": "d"})),
            "createTask" => Some(serde_json::json!({"type": "noop", "input": {}})),
            "setAccountPlan" => Some(serde_json::json!({"plan": "free"})),
            "createMemory" => Some(serde_json::json!({"agentId": agent, "content": "likes coffee"})),
            "updateMemory" => Some(serde_json::json!({"content": "likes green tea"})),
            "registerSkill" => Some(
                serde_json::json!({"name": "x", "description": "d", "parameters": {"type": "object"}, "endpoint": receiver.url("/s")}),
            ),
            "updateTicket" => Some(serde_json::json!({"status": "closed"})),
            _ => Some(serde_json::json!({})),
        };
        let body =
            if route.method == reqwest::Method::GET || route.method == reqwest::Method::DELETE { None } else { body };
        // Operator routes need the `admin` scope, which `*` does not imply.
        let key = if route.tag == "admin" { &admin } else { &app.key };
        let reply = app.send(route.method.clone(), &path, Some(key), body).await;
        // Cancelling with nothing running is a (valid) conflict.
        let expected = reply.status.is_success() || (route.name == "cancelReply" && reply.code() == "no_active_reply");
        assert!(
            !reply.code().starts_with("graphql_") && expected,
            "{} {}: {} {}",
            route.method,
            route.path,
            reply.status,
            reply.text
        );
    }
}

crate::db_tests!(openapi_describes_every_route, every_route_document_validates);
