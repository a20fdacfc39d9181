//! Conversations over REST: the seed's body verbatim, reads, filters, cursor pages, archive, delete, events,
//! bad input and tenant isolation.
use openclaw::auth::Plan;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::{
    db_tests,
    helpers::{Backend, spawn_app},
};

db_tests!(
    seed_conversation_is_created_read_and_recorded,
    conversations_list_filters_and_pages_by_cursor,
    archived_conversations_take_no_messages_and_deleted_ones_are_gone,
    bad_conversation_input_names_the_field,
    conversations_are_tenant_scoped,
);

async fn seed_conversation_is_created_read_and_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent_id = app.seed_agent().await;
    // The announcement's body, verbatim except for the agent id it names.
    let body = json!({
        "agentId": agent_id,
        "context": { "userId": "user-456", "metadata": { "source": "mobile-app", "locale": "zh-CN" } },
        "settings": { "model": "gpt-4", "temperature": 0.7, "maxTokens": 4096 }
    });
    let created = app.post("/v2/conversations", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    assert!(id.starts_with("conv-"), "{id}");
    assert_eq!(created.body["agentId"], agent_id);
    assert_eq!(created.body["status"], "active");
    assert!(created.body["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created.body["context"]["userId"], "user-456");
    assert_eq!(created.body["context"]["metadata"]["locale"], "zh-CN");
    assert_eq!(created.body["settings"], json!({ "model": "openai/gpt-4", "temperature": 0.7, "maxTokens": 4096 }));

    let read = app.get(&format!("/v2/conversations/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, created.body);

    let recorded =
        entity::event::Entity::find().filter(entity::event::Column::SubjectId.eq(id)).all(&app.state.db).await.unwrap();
    assert_eq!(recorded.len(), 1, "conversation.created is recorded once");
    assert_eq!(recorded[0].kind, "conversation.created");
    assert!(recorded[0].id.starts_with("evt-"));
    assert_eq!(recorded[0].data["agentId"], agent_id);
}

async fn conversations_list_filters_and_pages_by_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent_a, agent_b) = (app.seed_agent().await, app.seed_agent().await);
    let mut ids = Vec::new();
    for (agent, user) in [(&agent_a, "u1"), (&agent_a, "u2"), (&agent_a, "u1"), (&agent_b, "u1")] {
        let reply = app.post("/v2/conversations", json!({ "agentId": agent, "context": { "userId": user } })).await;
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    let all = app.get("/v2/conversations").await;
    let listed: Vec<&str> =
        all.body["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);
    assert_eq!(all.body["pagination"], json!({ "limit": 20, "hasMore": false, "nextCursor": null }));

    let for_a_u1 = app.get(&format!("/v2/conversations?agentId={agent_a}&userId=u1")).await;
    let found: Vec<&str> =
        for_a_u1.body["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(found, vec![ids[2].as_str(), ids[0].as_str()]);

    let first = app.get("/v2/conversations?limit=3").await;
    assert_eq!(first.body["pagination"]["hasMore"], true);
    let cursor = first.body["pagination"]["nextCursor"].as_str().unwrap();
    assert_eq!(cursor, ids[1]);
    let second = app.get(&format!("/v2/conversations?limit=3&after={cursor}")).await;
    let rest: Vec<&str> =
        second.body["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(rest, vec![ids[0].as_str()]);
    assert_eq!(second.body["pagination"]["hasMore"], false);

    app.post(&format!("/v2/conversations/{}/archive", ids[0]), json!({})).await;
    let archived = app.get("/v2/conversations?status=archived").await;
    assert_eq!(archived.body["conversations"].as_array().unwrap().len(), 1);
    app.get("/v2/conversations?status=deleted").await.assert_error(400, "validation_error");
    app.get("/v2/conversations?limit=0").await.assert_error(400, "validation_error");
    app.get("/v2/conversations?after=not%20a%20cursor").await.assert_error(400, "validation_error");
}

async fn archived_conversations_take_no_messages_and_deleted_ones_are_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, id) = app.echo_conversation().await;
    let archived = app.post(&format!("/v2/conversations/{id}/archive"), json!({})).await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.text);
    assert_eq!(archived.body["status"], "archived");
    let refused = app.post(&format!("/v2/conversations/{id}/messages"), json!({ "content": "hi" })).await;
    refused.assert_error(409, "conversation_archived");
    let listed = app.get(&format!("/v2/conversations/{id}/messages")).await;
    assert_eq!(listed.body["messages"], json!([]), "a refused message is not stored");

    let deleted = app.delete(&format!("/v2/conversations/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.get(&format!("/v2/conversations/{id}")).await.assert_error(404, "not_found");
    app.delete(&format!("/v2/conversations/{id}")).await.assert_error(404, "not_found");
}

async fn bad_conversation_input_names_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent_id = app.seed_agent().await;
    let cases = [
        (json!({}), "agentId"),
        (json!({ "agentId": "agent-nope" }), "agentId"),
        (json!({ "agentId": agent_id, "settings": { "temperature": 3 } }), "settings.temperature"),
        (json!({ "agentId": agent_id, "settings": { "maxTokens": 0 } }), "settings.maxTokens"),
        (json!({ "agentId": agent_id, "settings": { "model": "bad provider/x" } }), "settings.model.provider"),
        (json!({ "agentId": agent_id, "context": { "metadata": [1, 2] } }), "context.metadata"),
        (json!({ "agentId": agent_id, "context": { "userId": "" } }), "context.userId"),
    ];
    for (body, field) in cases {
        let reply = app.post("/v2/conversations", body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.text);
        assert!(reply.text.contains(field), "{body} should name {field}: {}", reply.text);
    }
    let listed = app.get("/v2/conversations").await;
    assert_eq!(listed.body["conversations"], json!([]), "nothing was created");
}

async fn conversations_are_tenant_scoped(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent_id, id) = app.echo_conversation().await;
    let sent = app.post(&format!("/v2/conversations/{id}/messages"), json!({ "content": "secret" })).await;
    let reply_id = sent.body["reply"]["id"].as_str().unwrap().to_owned();
    let other = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let paths = [
        (Method::GET, format!("/v2/conversations/{id}"), None),
        (Method::DELETE, format!("/v2/conversations/{id}"), None),
        (Method::POST, format!("/v2/conversations/{id}/archive"), Some(json!({}))),
        (Method::GET, format!("/v2/conversations/{id}/messages"), None),
        (Method::POST, format!("/v2/conversations/{id}/messages"), Some(json!({ "content": "hi" }))),
        (Method::POST, format!("/v2/conversations/{id}/cancel"), Some(json!({}))),
        (Method::GET, format!("/v2/conversations/{id}/messages/{reply_id}/stream"), None),
        (Method::GET, format!("/v2/messages/{reply_id}"), None),
    ];
    for (method, path, body) in paths {
        app.send(method.clone(), &path, Some(&other), body).await.assert_error(404, "not_found");
    }
    // Another tenant cannot open a conversation with our agent either.
    let foreign = app.send(Method::POST, "/v2/conversations", Some(&other), Some(json!({ "agentId": agent_id }))).await;
    foreign.assert_error(400, "validation_error");
    let theirs = app.send(Method::GET, "/v2/conversations", Some(&other), None).await;
    assert_eq!(theirs.body["conversations"], json!([]));
    // Ours is untouched.
    assert_eq!(
        app.get(&format!("/v2/conversations/{id}/messages")).await.body["messages"].as_array().unwrap().len(),
        2
    );
}
