//! The skills catalog and installing skills into agents.
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, spawn_app};

async fn catalog_answers_the_seed_shape(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.get("/v2/skills?category=productivity&limit=20").await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let skills = reply.body["skills"].as_array().unwrap();
    assert!(!skills.is_empty());
    assert!(skills.iter().all(|s| s["category"] == "productivity"));
    assert_eq!(reply.body["pagination"], json!({"total": skills.len(), "page": 1, "limit": 20}));

    let all = app.get("/v2/skills?limit=100").await;
    let web_search = all.body["skills"].as_array().unwrap().iter().find(|s| s["id"] == "web-search").cloned().unwrap();
    assert_eq!(
        web_search,
        json!({"id": "web-search", "name": "网页搜索", "version": "2.1.0", "category": "information",
               "description": "搜索互联网获取信息", "author": "openclaw", "downloads": 150000, "rating": 4.8})
    );
    let total = all.body["pagination"]["total"].as_u64().unwrap();
    assert!(total >= 12, "at least a dozen skills, got {total}");
    let categories: std::collections::HashSet<&str> =
        all.body["skills"].as_array().unwrap().iter().map(|s| s["category"].as_str().unwrap()).collect();
    assert!(categories.len() >= 5, "{categories:?}");
    for id in ["web-search", "knowledge-base", "ticket-system", "memory", "calculator", "http-request"] {
        assert!(all.body["skills"].as_array().unwrap().iter().any(|s| s["id"] == id), "{id} missing");
    }
}

async fn catalog_pages_do_not_overlap(backend: Backend) {
    let app = spawn_app(backend).await;
    let one = app.get("/v2/skills?limit=5&page=1").await;
    let two = app.get("/v2/skills?limit=5&page=2").await;
    let ids = |r: &crate::helpers::Reply| -> Vec<String> {
        r.body["skills"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&one).len(), 5);
    assert!(ids(&one).iter().all(|id| !ids(&two).contains(id)));
    assert_eq!(two.body["pagination"]["page"], 2);
    let beyond = app.get("/v2/skills?limit=5&page=99").await;
    assert_eq!(beyond.body["skills"], json!([]));
    app.get("/v2/skills?limit=1000").await.assert_error(400, "validation_error");
}

async fn skill_detail_has_versions_and_config_schema(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.get("/v2/skills/web-search").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["configSchema"]["properties"]["maxResults"]["type"], "integer");
    let versions: Vec<&str> =
        reply.body["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["2.1.0", "2.0.0"]);
    app.get("/v2/skills/no-such-skill").await.assert_error(404, "not_found");
}

async fn install_the_seed_example_then_uninstall(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let path = format!("/v2/agents/{agent}/skills");

    let installed = app
        .post(
            &path,
            json!({"skillId": "web-search", "version": "2.1.0", "config": {"provider": "google", "maxResults": 10}}),
        )
        .await;

    assert_eq!(installed.status, StatusCode::CREATED, "{}", installed.text);
    assert_eq!(installed.body["id"], "web-search");
    assert_eq!(installed.body["version"], "2.1.0");
    assert_eq!(installed.body["enabled"], true);
    assert_eq!(installed.body["config"], json!({"provider": "google", "maxResults": 10}));
    let listed = app.get(&path).await;
    assert_eq!(listed.body["skills"].as_array().unwrap().len(), 3, "{}", listed.text);
    let agent_body = app.get(&format!("/v2/agents/{agent}")).await;
    assert!(agent_body.body["skills"].as_array().unwrap().iter().any(|s| s["id"] == "web-search"));

    app.post(&path, json!({"skillId": "web-search"})).await.assert_error(409, "already_installed");

    let updated = app
        .patch(
            &format!("{path}/web-search"),
            json!({"version": "2.0.0", "config": {"maxResults": 3}, "enabled": false}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["version"], "2.0.0");
    assert_eq!(updated.body["enabled"], false);
    let downgrade_with_new_field =
        app.patch(&format!("{path}/web-search"), json!({"config": {"safeSearch": true}})).await;
    downgrade_with_new_field.assert_error(400, "validation_error");
    assert_eq!(downgrade_with_new_field.field(), "config.safeSearch", "2.0.0 has no safeSearch");

    let removed = app.delete(&format!("{path}/web-search")).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    app.delete(&format!("{path}/web-search")).await.assert_error(404, "not_found");
    assert_eq!(app.get(&path).await.body["skills"].as_array().unwrap().len(), 2);
}

async fn bad_installs_are_400s_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let path = format!("/v2/agents/{agent}/skills");
    let cases = [
        (json!({"skillId": "no-such-skill"}), "skillId"),
        (json!({"skillId": "web-search", "version": "0.0.1"}), "version"),
        (json!({"skillId": "web-search", "config": {"maxResults": 500}}), "config.maxResults"),
        (json!({"skillId": "web-search", "config": {"provider": "altavista"}}), "config.provider"),
        (json!({"skillId": "web-search", "config": {"colour": "blue"}}), "config.colour"),
        (json!({"skillId": "slack-notify", "config": {}}), "config.webhookUrl"),
        (json!({"skillId": "web-search", "config": "not an object"}), "config"),
        (json!({"version": "2.1.0"}), "skillId"),
    ];
    for (body, field) in cases {
        let reply = app.post(&path, body.clone()).await;
        reply.assert_error(400, "validation_error");
        assert_eq!(reply.field(), field, "{body}: {}", reply.text);
    }
    assert_eq!(app.get(&path).await.body["skills"].as_array().unwrap().len(), 2, "nothing was installed");
    app.post("/v2/agents/agent-missing/skills", json!({"skillId": "calculator"})).await.assert_error(404, "not_found");
}

crate::db_tests!(
    catalog_answers_the_seed_shape,
    catalog_pages_do_not_overlap,
    skill_detail_has_versions_and_config_schema,
    install_the_seed_example_then_uninstall,
    bad_installs_are_400s_naming_the_field,
);
