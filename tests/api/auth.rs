//! Authentication (API keys, JWTs) and authorization (scopes), per SPEC §2: 401 / 403 / 404.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openclaw::{auth::Plan, services};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, JWT_SECRET, TestApp, read, spawn_app};

async fn get_with_bearer(app: &TestApp, token: &str) -> crate::helpers::Reply {
    read(app.client.get(app.url("/v2/agents")).bearer_auth(token).send().await.unwrap()).await
}

fn claims(exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "acct-x", "plan": "free", "scopes": ["*"], "iat": now, "exp": now + exp_offset,
           "iss": "openclaw", "aud": "openclaw-api", "kid": "key-x"})
}

async fn missing_and_invalid_credentials_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    app.send(Method::GET, "/v2/agents", None, None).await.assert_error(401, "unauthenticated");
    app.send(Method::GET, "/v2/agents", Some("oc_not-a-key"), None).await.assert_error(401, "unauthenticated");
    let unknown = format!("oc_{}", "0".repeat(48));
    app.send(Method::GET, "/v2/agents", Some(&unknown), None).await.assert_error(401, "unauthenticated");
    let basic =
        read(app.client.get(app.url("/v2/agents")).header("Authorization", "Basic Zm9vOmJhcg==").send().await.unwrap())
            .await;
    basic.assert_error(401, "unauthenticated");
    get_with_bearer(&app, "not.a.jwt").await.assert_error(401, "unauthenticated");
}

async fn revoked_keys_stop_working(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.create_key("tenant-a", Plan::Free, &["*"]).await;
    assert_eq!(app.send(Method::GET, "/v2/agents", Some(&key), None).await.status, StatusCode::OK);
    let prefix = &key[..12];

    services::accounts::revoke_key(&app.state.db, prefix).await.unwrap();

    app.send(Method::GET, "/v2/agents", Some(&key), None).await.assert_error(401, "unauthenticated");
    assert_eq!(app.get("/v2/agents").await.status, StatusCode::OK, "other keys are unaffected");
}

async fn api_key_exchanges_for_a_working_jwt(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;

    let token = app.post("/v2/auth/token", json!({})).await;

    assert_eq!(token.status, StatusCode::OK, "{}", token.text);
    assert_eq!(token.body["tokenType"], "Bearer");
    assert_eq!(token.body["expiresIn"], 900);
    let jwt = token.body["accessToken"].as_str().unwrap();
    let reply = read(app.client.get(app.url(&format!("/v2/agents/{id}"))).bearer_auth(jwt).send().await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["id"], id.as_str());

    // A token cannot mint another token (it would extend itself forever).
    let again = read(app.client.post(app.url("/v2/auth/token")).bearer_auth(jwt).send().await.unwrap()).await;
    again.assert_error(403, "forbidden");

    // Without a body, and with a narrower scope set and a lifetime.
    let bare =
        read(app.client.post(app.url("/v2/auth/token")).header("X-API-Key", &app.key).send().await.unwrap()).await;
    assert_eq!(bare.status, StatusCode::OK, "{}", bare.text);
    let narrow = app.post("/v2/auth/token", json!({"scopes": ["agents:read"], "expiresIn": 60})).await;
    assert_eq!(narrow.body["scopes"], json!(["agents:read"]));
    let read_only = narrow.body["accessToken"].as_str().unwrap();
    let write = read(
        app.client.post(app.url("/v2/agents")).bearer_auth(read_only).json(&json!({"name": "x"})).send().await.unwrap(),
    )
    .await;
    write.assert_error(403, "forbidden");
    app.post("/v2/auth/token", json!({"expiresIn": 999999})).await.assert_error(400, "validation_error");
    let unknown_scope = app.post("/v2/auth/token", json!({"scopes": ["agents:read", "__nope__"]})).await;
    unknown_scope.assert_error(400, "validation_error");
    assert_eq!(unknown_scope.field(), "scopes");
    // JSON numbers are numbers: 61.0 is a valid Int, as graphql-js would read it.
    assert_eq!(app.post("/v2/auth/token", json!({"expiresIn": 61.0})).await.body["expiresIn"], 61);
}

async fn expired_forged_none_and_confused_tokens_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let account = services::accounts::find_or_create(&app.state.db, "tenant-a", Plan::Free).await.unwrap();
    let mut good_claims = claims(300);
    good_claims["sub"] = json!(account.id);
    // A token is checked against the key it names: the control token names a live key of the account.
    good_claims["kid"] = json!(services::accounts::list_keys(&app.state.db, Some("tenant-a")).await.unwrap()[0].id);
    let sign = |alg: Algorithm, secret: &str, claims: &Value| {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    };
    let valid = sign(Algorithm::HS256, JWT_SECRET, &good_claims);
    assert_eq!(get_with_bearer(&app, &valid).await.status, StatusCode::OK, "the control token must work");

    let mut expired = good_claims.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 120);
    get_with_bearer(&app, &sign(Algorithm::HS256, JWT_SECRET, &expired)).await.assert_error(401, "unauthenticated");
    get_with_bearer(&app, &sign(Algorithm::HS256, "some-other-secret-some-other-secret", &good_claims))
        .await
        .assert_error(401, "unauthenticated");
    get_with_bearer(&app, &sign(Algorithm::HS512, JWT_SECRET, &good_claims)).await.assert_error(401, "unauthenticated");

    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let payload = encode(&good_claims);
    let none = format!("{}.{payload}.", encode(&json!({"alg": "none", "typ": "JWT"})));
    get_with_bearer(&app, &none).await.assert_error(401, "unauthenticated");
    // RS256 in the header, HMAC'd with the shared secret: the classic key-confusion forgery.
    let valid_signature = valid.rsplit('.').next().unwrap();
    let confused = format!("{}.{payload}.{valid_signature}", encode(&json!({"alg": "RS256", "typ": "JWT"})));
    get_with_bearer(&app, &confused).await.assert_error(401, "unauthenticated");
    let mut wrong_audience = good_claims.clone();
    wrong_audience["aud"] = json!("someone-else");
    get_with_bearer(&app, &sign(Algorithm::HS256, JWT_SECRET, &wrong_audience))
        .await
        .assert_error(401, "unauthenticated");
}

async fn scopes_are_enforced_with_403(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let reader = app.create_key("tenant-a", Plan::Free, &["agents:read"]).await;

    assert_eq!(app.send(Method::GET, &format!("/v2/agents/{id}"), Some(&reader), None).await.status, StatusCode::OK);
    app.send(Method::POST, "/v2/agents", Some(&reader), Some(json!({"name": "x"})))
        .await
        .assert_error(403, "forbidden");
    app.send(Method::PATCH, &format!("/v2/agents/{id}"), Some(&reader), Some(json!({"name": "x"})))
        .await
        .assert_error(403, "forbidden");
    app.send(Method::GET, "/v2/skills", Some(&reader), None).await.assert_error(403, "forbidden");
    app.send(Method::POST, "/v2/auth/token", Some(&reader), Some(json!({"scopes": ["agents:write"]})))
        .await
        .assert_error(403, "forbidden");
    assert_eq!(app.get(&format!("/v2/agents/{id}")).await.body["name"], "客服助手", "nothing changed");
}

crate::db_tests!(
    missing_and_invalid_credentials_are_401,
    revoked_keys_stop_working,
    api_key_exchanges_for_a_working_jwt,
    expired_forged_none_and_confused_tokens_are_401,
    scopes_are_enforced_with_403,
);
