//! Hostile input never crashes the server or changes data: every route answers garbage with a coded 4xx.
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, read, spawn_app};
use openclaw::rest::routes::ROUTES;

async fn garbage_to_every_route_is_a_coded_4xx(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    let before = app.get(&format!("/v2/agents/{agent}")).await.body;
    let nested = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let bodies: Vec<Vec<u8>> = vec![
        b"\x00\xff\xfe garbage".to_vec(),
        b"{\"name\": \"\xff\xfe\"}".to_vec(),
        nested.into_bytes(),
        json!({"name": ["array"], "skills": {"not": "a list"}, "model": {"provider": 1}}).to_string().into_bytes(),
        json!({"name": "x", "settings": {"maxTokens": 1e300, "temperature": "hot"}}).to_string().into_bytes(),
        json!({"skillId": {"$gt": ""}, "config": [1, 2, 3]}).to_string().into_bytes(),
        json!({"scopes": "agents:read", "expiresIn": -1}).to_string().into_bytes(),
        json!({"name": "nul\u{0}byte"}).to_string().into_bytes(),
        b"null".to_vec(),
        b"\"just a string\"".to_vec(),
    ];
    for route in ROUTES.iter().filter(|r| r.method != Method::GET && r.method != Method::DELETE) {
        let path = route.path.replace("{agentId}", &agent).replace("{skillId}", "knowledge-base");
        for body in &bodies {
            let reply = read(
                app.client
                    .request(route.method.clone(), app.url(&path))
                    .header("X-API-Key", &app.key)
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert!(
                reply.status.is_client_error(),
                "{} {path} with {:?}: {} {}",
                route.method,
                String::from_utf8_lossy(&body[..body.len().min(40)]),
                reply.status,
                reply.text
            );
            assert!(!reply.code().is_empty(), "{} {path}: no error code in {}", route.method, reply.text);
        }
    }
    for path in
        ["/v2/agents/%00", "/v2/agents/..%2F..%2Fetc", "/v2/skills?limit=%ff", "/v2/agents?page=99999999999999999999"]
    {
        let reply = app.get(path).await;
        assert!(reply.status.is_client_error(), "{path}: {} {}", reply.status, reply.text);
    }
    let after = app.get(&format!("/v2/agents/{agent}")).await.body;
    assert_eq!(before, after, "garbage must change nothing");
    assert_eq!(app.get("/v2/agents").await.body["pagination"]["total"], 1);
    assert_eq!(read(app.client.get(app.url("/healthz")).send().await.unwrap()).await.status, StatusCode::OK);
}

async fn http2_is_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let response = client.get(app.url("/v2/skills")).header("X-API-Key", &app.key).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
}

crate::db_tests!(garbage_to_every_route_is_a_coded_4xx, http2_is_served);
