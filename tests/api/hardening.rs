//! Issue 14 hardening: access tokens follow their key's state (revocation, plan, scopes), `nbf`, idempotency over
//! canonical JSON (and fingerprints stored before it), request ids a client may set, and `nosniff`.
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openclaw::{auth::Plan, services};
use reqwest::{
    Method, StatusCode,
    header::{HeaderMap, HeaderValue},
    multipart::{Form, Part},
};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, JWT_SECRET, Reply, TestApp, read, spawn_app, spawn_app_with};

crate::db_tests!(
    an_access_token_dies_with_its_key,
    an_access_token_loses_the_scopes_its_key_loses,
    tokens_without_a_live_key_of_their_account_are_401,
    an_access_token_carries_the_accounts_current_plan,
    a_token_before_its_nbf_is_401,
    idempotency_compares_canonical_json,
    idempotency_keys_stored_with_the_old_fingerprint_still_replay,
    hostile_request_ids_are_replaced_and_plain_ones_kept,
    downloads_and_other_responses_say_nosniff,
);

/// Mints an access token with `key` through the API.
async fn mint(app: &TestApp, key: &str) -> String {
    let reply = app.send(Method::POST, "/v2/auth/token", Some(key), Some(json!({}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["accessToken"].as_str().unwrap().to_owned()
}

async fn send_bearer(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.unwrap()).await
}

/// The id of the newest key of `account`.
async fn newest_key_id(app: &TestApp, account: &str) -> String {
    services::accounts::list_keys(&app.state.db, Some(account)).await.unwrap()[0].id.clone()
}

fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(JWT_SECRET.as_bytes()))
        .unwrap()
}

async fn an_access_token_dies_with_its_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.create_key("tenant-a", Plan::Free, &["*"]).await;
    let token = mint(&app, &key).await;
    let other_token = mint(&app, &app.key).await;
    assert_eq!(send_bearer(&app, Method::GET, "/v2/agents", &token, None).await.status, StatusCode::OK);

    services::accounts::revoke_key(&app.state.db, &key[..12]).await.unwrap();

    let refused = send_bearer(&app, Method::GET, "/v2/agents", &token, None).await;
    refused.assert_error(401, "unauthenticated");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("revoked"), "{}", refused.text);
    assert_eq!(
        send_bearer(&app, Method::GET, "/v2/agents", &other_token, None).await.status,
        StatusCode::OK,
        "tokens of other keys are unaffected"
    );
}

async fn an_access_token_loses_the_scopes_its_key_loses(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let token = mint(&app, &key).await;
    let created = send_bearer(&app, Method::POST, "/v2/agents", &token, Some(json!({"name": "before"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    // No API narrows a key yet; an operator editing the row is the case this guards.
    let row = entity::api_key::Entity::find_by_id(newest_key_id(&app, "tenant-b").await)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut narrowed: entity::api_key::ActiveModel = row.into();
    narrowed.scopes = Set(json!(["agents:read"]));
    narrowed.update(&app.state.db).await.unwrap();

    assert_eq!(send_bearer(&app, Method::GET, "/v2/agents", &token, None).await.status, StatusCode::OK);
    send_bearer(&app, Method::POST, "/v2/agents", &token, Some(json!({"name": "after"})))
        .await
        .assert_error(403, "forbidden");
    send_bearer(&app, Method::GET, "/v2/skills", &token, None).await.assert_error(403, "forbidden");
}

async fn tokens_without_a_live_key_of_their_account_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = services::accounts::find_or_create(&app.state.db, "tenant-a", Plan::Free).await.unwrap();
    let own_key = newest_key_id(&app, "tenant-a").await;
    app.create_key("tenant-z", Plan::Free, &["*"]).await;
    let foreign_key = newest_key_id(&app, "tenant-z").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |kid: Option<&str>| {
        let mut claims = json!({"sub": account.id, "plan": "enterprise", "scopes": ["*"], "iat": now,
                                "exp": now + 300, "iss": "openclaw", "aud": "openclaw-api"});
        if let Some(kid) = kid {
            claims["kid"] = json!(kid);
        }
        claims
    };
    let control = send_bearer(&app, Method::GET, "/v2/agents", &sign(&claims(Some(&own_key))), None).await;
    assert_eq!(control.status, StatusCode::OK, "the control token must work: {}", control.text);

    let no_kid = send_bearer(&app, Method::GET, "/v2/agents", &sign(&claims(None)), None).await;
    no_kid.assert_error(401, "unauthenticated");
    assert!(no_kid.body["error"]["message"].as_str().unwrap().contains("kid"), "{}", no_kid.text);
    let unknown = send_bearer(&app, Method::GET, "/v2/agents", &sign(&claims(Some("key-nope"))), None).await;
    unknown.assert_error(401, "unauthenticated");
    // Another account's key cannot vouch for this account.
    let foreign = send_bearer(&app, Method::GET, "/v2/agents", &sign(&claims(Some(&foreign_key))), None).await;
    foreign.assert_error(401, "unauthenticated");
}

async fn an_access_token_carries_the_accounts_current_plan(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.limits_enabled = true).await;
    let token = mint(&app, &app.key).await;
    let limit = |reply: &Reply| reply.headers.get("x-ratelimit-limit").map(|v| v.to_str().unwrap().to_owned());
    let before = send_bearer(&app, Method::GET, "/v2/agents", &token, None).await;
    assert_eq!(limit(&before).as_deref(), Some("60"), "free: {}", before.text);

    let admin = app.create_key("operators", Plan::Enterprise, &["admin"]).await;
    let changed =
        app.send(Method::PATCH, "/v2/admin/accounts/tenant-a", Some(&admin), Some(json!({"plan": "pro"}))).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);

    let after = send_bearer(&app, Method::GET, "/v2/agents", &token, None).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert_eq!(limit(&after).as_deref(), Some("600"), "the token minted on free now runs on pro");
}

async fn a_token_before_its_nbf_is_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = services::accounts::find_or_create(&app.state.db, "tenant-a", Plan::Free).await.unwrap();
    let kid = newest_key_id(&app, "tenant-a").await;
    let now = chrono::Utc::now().timestamp();
    let with_nbf = |nbf: i64| {
        sign(&json!({"sub": account.id, "plan": "free", "scopes": ["*"], "iat": now, "exp": now + 600,
                     "nbf": nbf, "iss": "openclaw", "aud": "openclaw-api", "kid": kid}))
    };
    let past = send_bearer(&app, Method::GET, "/v2/agents", &with_nbf(now - 60), None).await;
    assert_eq!(past.status, StatusCode::OK, "a token past its nbf works: {}", past.text);

    let early = send_bearer(&app, Method::GET, "/v2/agents", &with_nbf(now + 300), None).await;
    early.assert_error(401, "unauthenticated");
    assert!(early.body["error"]["message"].as_str().unwrap().contains("not valid yet"), "{}", early.text);
}

/// POSTs `body` verbatim as JSON under `Idempotency-Key: key`.
async fn post_raw(app: &TestApp, path: &str, key: &str, body: &str) -> Reply {
    let request = app
        .client
        .post(app.url(path))
        .header("X-API-Key", &app.key)
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    read(request.send().await.unwrap()).await
}

async fn idempotency_compares_canonical_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let first =
        post_raw(&app, "/v2/agents", "k-1", r#"{"name":"ordered","settings":{"temperature":0.5,"maxTokens":64}}"#)
            .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(first.headers.get("idempotent-replayed").is_none());

    let reordered = post_raw(
        &app,
        "/v2/agents",
        "k-1",
        "{ \"settings\": {\"maxTokens\": 64, \"temperature\": 0.5},\n \"name\": \"ordered\" }",
    )
    .await;
    assert_eq!(reordered.status, StatusCode::CREATED, "the same JSON in another order is a retry: {}", reordered.text);
    assert_eq!(reordered.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(reordered.body["id"], first.body["id"]);

    let different =
        post_raw(&app, "/v2/agents", "k-1", r#"{"name":"ordered","settings":{"temperature":0.6,"maxTokens":64}}"#)
            .await;
    different.assert_error(422, "idempotency_mismatch");
    assert_eq!(app.get("/v2/agents").await.body["pagination"]["total"], 1, "one agent was created");
}

async fn idempotency_keys_stored_with_the_old_fingerprint_still_replay(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = r#"{"name":"legacy","model":"gpt-4"}"#;
    let first = post_raw(&app, "/v2/agents", "k-old", body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    // Rewrite the stored hash as the server computed it before the canonical form: raw bytes, no version marker.
    let account = services::accounts::find_or_create(&app.state.db, "tenant-a", Plan::Free).await.unwrap();
    let row = entity::idempotency_key::Entity::find_by_id((account.id, "k-old".to_owned()))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut legacy: entity::idempotency_key::ActiveModel = row.into();
    legacy.request_hash = Set(hex::encode(Sha256::digest(format!("POST\n/v2/agents\n{body}").as_bytes())));
    legacy.update(&app.state.db).await.unwrap();

    let retry = post_raw(&app, "/v2/agents", "k-old", body).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text);
    assert_eq!(retry.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(retry.body["id"], first.body["id"]);
    post_raw(&app, "/v2/agents", "k-old", r#"{"name":"other"}"#).await.assert_error(422, "idempotency_mismatch");
}

fn request_id(reply: &Reply) -> String {
    reply.headers.get("x-request-id").unwrap().to_str().unwrap().to_owned()
}

async fn hostile_request_ids_are_replaced_and_plain_ones_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let send = |ids: Vec<HeaderValue>, key: Option<String>| {
        let mut headers = HeaderMap::new();
        for id in ids {
            headers.append("x-request-id", id);
        }
        let mut request = app.client.get(app.url("/v2/agents/agent-nope")).headers(headers);
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        async move { read(request.send().await.unwrap()).await }
    };
    let hostile: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&"a".repeat(129)).unwrap(),
        HeaderValue::from_static("two words"),
        HeaderValue::from_static("tab\there"),
        HeaderValue::from_bytes("réq-ü".as_bytes()).unwrap(),
        HeaderValue::from_static("<script>alert(1)</script>"),
        HeaderValue::from_static("line\\nbreak\"quote"),
    ];
    for id in hostile {
        for key in [Some(app.key.clone()), None] {
            let authenticated = key.is_some();
            let reply = send(vec![id.clone()], key).await;
            // `assert_error` also checks that the body's requestId is the header's.
            if authenticated {
                reply.assert_error(404, "not_found");
            } else {
                reply.assert_error(401, "unauthenticated");
            }
            let replaced = request_id(&reply);
            assert!(replaced.starts_with("req_") && replaced.as_bytes() != id.as_bytes(), "{id:?} kept as {replaced}");
        }
    }
    let two = send(vec![HeaderValue::from_static("one"), HeaderValue::from_static("two")], Some(app.key.clone())).await;
    two.assert_error(404, "not_found");
    assert!(request_id(&two).starts_with("req_"), "two ids: {}", request_id(&two));

    let longest = "A-z0.9_:".repeat(16);
    for plain in ["client-7.b:c_d", longest.as_str()] {
        let reply = send(vec![HeaderValue::from_str(plain).unwrap()], Some(app.key.clone())).await;
        reply.assert_error(404, "not_found");
        assert_eq!(request_id(&reply), plain);
        assert_eq!(reply.body["error"]["requestId"], plain);
    }
}

async fn downloads_and_other_responses_say_nosniff(backend: Backend) {
    let app = spawn_app(backend).await;
    let part = Part::bytes(b"<html><script>alert(1)</script></html>".to_vec())
        .file_name("page.txt")
        .mime_str("text/plain")
        .unwrap();
    let form = Form::new().text("purpose", "knowledge").part("file", part);
    let uploaded =
        read(app.client.post(app.url("/v2/files")).header("X-API-Key", &app.key).multipart(form).send().await.unwrap())
            .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let id = uploaded.body["id"].as_str().unwrap();
    let download =
        app.client.get(app.url(&format!("/v2/files/{id}/content"))).header("X-API-Key", &app.key).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers().get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(download.headers().get_all("x-content-type-options").iter().count(), 1, "set once");

    for reply in [
        app.get("/v2/agents").await,
        app.get("/v2/nowhere").await,
        app.send(Method::GET, "/v2/agents", None, None).await,
    ] {
        assert_eq!(reply.headers.get("x-content-type-options").unwrap(), "nosniff", "{}", reply.text);
    }
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.headers().get("x-content-type-options").unwrap(), "nosniff");
}
