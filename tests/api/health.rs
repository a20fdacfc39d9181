//! Health, readiness, request ids and unknown routes.
use reqwest::StatusCode;

use crate::helpers::{Backend, read, spawn_app};

async fn health_and_readiness(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = read(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    let ready = read(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["database"], "ok");
}

async fn every_response_has_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let ok = app.get("/v2/agents").await;
    let unauthenticated = app.send(reqwest::Method::GET, "/v2/agents", None, None).await;
    let missing = app.get("/v2/nowhere").await;
    let ids: Vec<String> = [&ok, &unauthenticated, &missing]
        .iter()
        .map(|r| r.headers["x-request-id"].to_str().unwrap().to_owned())
        .collect();
    assert!(ids.iter().all(|id| id.starts_with("req_")), "{ids:?}");
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    missing.assert_error(404, "route_not_found");
    let wrong_method = app.send(reqwest::Method::PUT, "/v2/agents", Some(&app.key), None).await;
    wrong_method.assert_error(405, "method_not_allowed");
    assert_eq!(wrong_method.headers["allow"], "GET, POST");
}

crate::db_tests!(health_and_readiness, every_response_has_a_request_id);
