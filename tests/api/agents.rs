//! Agents over REST: the seed's shapes, CRUD, validation and tenant isolation.
use openclaw::auth::Plan;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, seed_agent_body, spawn_app, spawn_app_with};

async fn create_agent_from_the_seed_example_answers_the_configuration_shape(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.post("/v2/agents", seed_agent_body()).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let agent = &reply.body;
    assert!(agent["id"].as_str().unwrap().starts_with("agent-"));
    assert_eq!(agent["name"], "客服助手");
    assert_eq!(agent["description"], "智能客服 Agent");
    assert_eq!(
        agent["model"],
        json!({"provider": "openai", "name": "gpt-4", "settings": {"temperature": 0.3, "maxTokens": 2048}})
    );
    assert_eq!(agent["systemPrompt"], "你是一个专业的客服助手...");
    let skill_ids: Vec<&str> = agent["skills"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(skill_ids, ["knowledge-base", "ticket-system"]);
    assert_eq!(agent["skills"][0]["enabled"], true);
    assert_eq!(agent["skills"][0]["config"], json!({}));
    assert_eq!(agent["memory"], json!({"enabled": true, "type": "conversation", "retention": "30d"}));
    let created = agent["createdAt"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == "2026-03-10T10:00:00Z".len(), "{created}");

    // Fields come in the SPEC's order (selection order), even though `skills` resolves last.
    let position = |key: &str| reply.text.find(&format!("\"{key}\":")).unwrap();
    let order = ["id", "name", "description", "model", "systemPrompt", "skills", "memory", "createdAt", "updatedAt"];
    assert!(order.windows(2).all(|w| position(w[0]) < position(w[1])), "field order: {}", reply.text);

    let fetched = app.get(&format!("/v2/agents/{}", agent["id"].as_str().unwrap())).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.body, reply.body);
}

async fn create_agent_accepts_the_configuration_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let config_shape = json!({
        "id": "agent-123",
        "name": "客服助手",
        "model": {"provider": "openai", "name": "gpt-4", "settings": {"temperature": 0.3, "maxTokens": 2048}},
        "skills": [{"id": "knowledge-base", "enabled": true, "config": {"index": "kb-001"}}],
        "memory": {"enabled": true, "type": "conversation", "retention": "30d"}
    });

    let reply = app.post("/v2/agents", config_shape).await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_ne!(reply.body["id"], "agent-123", "ids are assigned by the server");
    assert_eq!(reply.body["model"]["settings"], json!({"temperature": 0.3, "maxTokens": 2048}));
    assert_eq!(reply.body["skills"][0]["config"], json!({"index": "kb-001"}));
    assert_eq!(reply.body["skills"][0]["version"], "1.4.0");
    assert_eq!(reply.body["memory"], json!({"enabled": true, "type": "conversation", "retention": "30d"}));
}

async fn model_strings_resolve_to_provider_and_name(backend: Backend) {
    let app = spawn_app(backend).await;
    for (model, provider, name) in [
        ("openai/gpt-4o", "openai", "gpt-4o"),
        ("claude-3-5-sonnet", "anthropic", "claude-3-5-sonnet"),
        ("echo", "echo", "echo"),
    ] {
        let reply = app.post("/v2/agents", json!({"name": "m", "model": model})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.body["model"]["provider"], provider);
        assert_eq!(reply.body["model"]["name"], name);
    }
    let default = app.post("/v2/agents", json!({"name": "no model"})).await;
    assert_eq!(default.body["model"]["provider"], "echo", "{}", default.text);
}

async fn list_paginates_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.post("/v2/agents", json!({"name": format!("agent {i}")})).await.body["id"].as_str().unwrap().to_owned(),
        );
    }

    let first = app.get("/v2/agents?limit=2").await;
    let second = app.get("/v2/agents?limit=2&page=2").await;
    let last = app.get("/v2/agents?limit=2&page=3").await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["pagination"], json!({"total": 5, "page": 1, "limit": 2}));
    let names = |r: &crate::helpers::Reply| -> Vec<String> {
        r.body["agents"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&first), [ids[4].clone(), ids[3].clone()]);
    assert_eq!(names(&second), [ids[2].clone(), ids[1].clone()]);
    assert_eq!(names(&last), [ids[0].clone()]);
    assert_eq!(app.get("/v2/agents").await.body["pagination"]["limit"], 20);
}

async fn bad_pagination_is_a_400_naming_the_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    for (query, field) in
        [("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("page=0", "page"), ("page=-3", "page")]
    {
        let reply = app.get(&format!("/v2/agents?{query}")).await;
        reply.assert_error(400, "validation_error");
        assert_eq!(reply.field(), field, "{query}: {}", reply.text);
    }
}

async fn patch_changes_only_given_fields_and_delete_removes(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let path = format!("/v2/agents/{id}");

    let patched = app
        .patch(&path, json!({"name": "Support bot", "settings": {"temperature": 0.9}, "memory": {"retention": "7d"}, "description": null}))
        .await;

    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["name"], "Support bot");
    assert_eq!(patched.body["model"]["settings"], json!({"temperature": 0.9, "maxTokens": 2048}));
    assert_eq!(patched.body["memory"]["retention"], "7d");
    assert_eq!(patched.body["description"], json!(null));
    assert_eq!(patched.body["systemPrompt"], "你是一个专业的客服助手...");
    assert_eq!(patched.body["skills"].as_array().unwrap().len(), 2, "skills untouched");

    let replaced = app.patch(&path, json!({"skills": ["web-search"]})).await;
    assert_eq!(replaced.body["skills"].as_array().unwrap().len(), 1, "{}", replaced.text);
    assert_eq!(replaced.body["skills"][0]["id"], "web-search");

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.text.is_empty());
    app.get(&path).await.assert_error(404, "not_found");
    app.delete(&path).await.assert_error(404, "not_found");
}

async fn invalid_agents_are_rejected_naming_the_field_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (json!({"description": "no name"}), "name"),
        (json!({"name": 42}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "settings": {"temperature": 7}}), "settings.temperature"),
        (json!({"name": "x", "settings": {"maxTokens": 0}}), "settings.maxTokens"),
        (json!({"name": "x", "memory": {"type": "forever"}}), "memory.type"),
        (json!({"name": "x", "memory": {"retention": "30 days"}}), "memory.retention"),
        (json!({"name": "x", "model": {"provider": "openai"}}), "model.name"),
        (json!({"name": "x", "model": 5}), "model"),
        (json!({"name": "x", "skills": ["no-such-skill"]}), "skills[0].id"),
        (json!({"name": "x", "skills": ["web-search", "web-search"]}), "skills[1].id"),
        (json!({"name": "x", "skills": [{"id": "web-search", "version": "9.9.9"}]}), "skills[0].version"),
        (
            json!({"name": "x", "skills": [{"id": "web-search", "config": {"maxResults": "ten"}}]}),
            "skills[0].config.maxResults",
        ),
        (json!({"name": "x", "unknownField": true}), "unknownField"),
        (json!({"name": "x", "skills": [{"id": "web-search", "bogus": 1}]}), "skills"),
        (json!({"name": "x", "model": {"name": 7}}), "model"),
    ];
    for (body, field) in cases {
        let reply = app.post("/v2/agents", body.clone()).await;
        reply.assert_error(400, "validation_error");
        assert_eq!(reply.field(), field, "{body}: {}", reply.text);
    }
    assert_eq!(app.get("/v2/agents").await.body["pagination"]["total"], 0, "a rejected agent must not be stored");
}

async fn malformed_and_oversized_bodies_are_rejected(backend: Backend) {
    // A small limit, so the oversized body still fits the socket buffers and the 413 is always read back
    // (with megabytes in flight the server's early close can reset the connection before the client reads).
    let app = spawn_app_with(backend, |config| config.body_limit_bytes = 4096).await;
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/v2/agents"))
            .header("X-API-Key", &app.key)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    crate::helpers::read(raw("{\"name\": ", "application/json").await.unwrap()).await.assert_error(400, "invalid_json");
    crate::helpers::read(raw("[1, 2]", "application/json").await.unwrap()).await.assert_error(400, "invalid_json");
    crate::helpers::read(raw("", "application/json").await.unwrap()).await.assert_error(400, "invalid_json");
    crate::helpers::read(raw("name=x", "application/x-www-form-urlencoded").await.unwrap())
        .await
        .assert_error(415, "unsupported_media_type");

    let huge = json!({"name": "x", "systemPrompt": "a".repeat(8 * 1024)});
    app.post("/v2/agents", huge).await.assert_error(413, "payload_too_large");
    assert_eq!(app.get("/v2/agents").await.body["pagination"]["total"], 0);
}

async fn another_tenants_agent_is_a_404_for_every_verb(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let other = app.create_key("tenant-b", Plan::Pro, &["*"]).await;
    let path = format!("/v2/agents/{id}");

    app.send(Method::GET, &path, Some(&other), None).await.assert_error(404, "not_found");
    app.send(Method::PATCH, &path, Some(&other), Some(json!({"name": "stolen"}))).await.assert_error(404, "not_found");
    app.send(Method::DELETE, &path, Some(&other), None).await.assert_error(404, "not_found");
    app.send(Method::POST, &format!("{path}/skills"), Some(&other), Some(json!({"skillId": "calculator"})))
        .await
        .assert_error(404, "not_found");
    app.send(Method::DELETE, &format!("{path}/skills/knowledge-base"), Some(&other), None)
        .await
        .assert_error(404, "not_found");
    let list = app.send(Method::GET, "/v2/agents", Some(&other), None).await;
    assert_eq!(list.body["pagination"]["total"], 0);

    let mine = app.get(&path).await;
    assert_eq!(mine.body["name"], "客服助手", "the owner's agent is unchanged");
    assert_eq!(mine.body["skills"].as_array().unwrap().len(), 2);
}

crate::db_tests!(
    create_agent_from_the_seed_example_answers_the_configuration_shape,
    create_agent_accepts_the_configuration_shape,
    model_strings_resolve_to_provider_and_name,
    list_paginates_newest_first,
    bad_pagination_is_a_400_naming_the_parameter,
    patch_changes_only_given_fields_and_delete_removes,
    invalid_agents_are_rejected_naming_the_field_and_nothing_is_stored,
    malformed_and_oversized_bodies_are_rejected,
    another_tenants_agent_is_a_404_for_every_verb,
);
