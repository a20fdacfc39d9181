//! Events, webhooks and their deliveries, over real HTTP to a local receiver.
use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    db_tests,
    helpers::{Backend, TestApp, run_tool, spawn_app, spawn_app_with},
    receiver::{Received, Receiver, verify, verify_previous, verify_with_library},
};

db_tests!(
    deliveries_are_signed_both_ways_and_verify_with_the_seed_function,
    failed_deliveries_are_retried_with_backoff_and_every_attempt_recorded,
    gone_disables_the_endpoint_with_an_event,
    an_endpoint_failing_too_long_is_disabled,
    a_backlog_drains_without_waiting_for_the_poll,
    rotation_signs_with_both_secrets_then_ping_and_redeliver,
    outbound_urls_are_ssrf_guarded,
    bad_webhooks_are_refused_and_other_tenants_see_nothing,
    events_are_listed_filtered_and_paged,
);

const WAIT: Duration = Duration::from_secs(20);

async fn create_webhook(app: &TestApp, url: &str, events: Value, secret: Option<&str>) -> Value {
    let mut body = json!({ "url": url, "events": events });
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    let reply = app.post("/v2/webhooks", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

async fn deliveries(app: &TestApp, webhook_id: &str) -> Vec<Value> {
    let reply = app.get(&format!("/v2/webhooks/{webhook_id}/deliveries")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["deliveries"].as_array().unwrap().clone()
}

/// Polls until `check` holds for the endpoint's deliveries.
async fn wait_deliveries(app: &TestApp, webhook_id: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let list = deliveries(app, webhook_id).await;
        if check(&list) {
            return list;
        }
        assert!(tokio::time::Instant::now() < deadline, "deliveries never matched: {list:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn deliveries_are_signed_both_ways_and_verify_with_the_seed_function(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    // The announcement's body, verbatim but for the URL.
    let hook = create_webhook(
        &app,
        &receiver.url("/webhooks/openclaw"),
        json!(["message.received", "task.completed"]),
        Some("your-webhook-secret"),
    )
    .await;
    assert_eq!(hook["secret"], "your-webhook-secret", "the create response shows the secret once");
    let read = app.get(&format!("/v2/webhooks/{}", hook["id"].as_str().unwrap())).await;
    assert_eq!(read.body["secret"], Value::Null, "later reads never show it");
    let (_, conversation) = app.echo_conversation().await;
    // Characters whose JSON encoding differs between careless serializers.
    let content = "引号 \"quoted\" \\ slash / tab\t newline\n control\u{1} emoji 🦀 </script>";
    let sent = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": content })).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let received = receiver.wait_for(1, WAIT).await;
    // Only the subscribed type arrives (no conversation.created, no message.sent).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = if receiver.received().len() > received.len() { receiver.received() } else { received };
    assert_eq!(received.len(), 1, "{received:#?}");
    let delivery = &received[0];
    verify(delivery, "your-webhook-secret");
    assert_eq!(delivery.header("x-openclaw-event"), "message.received");
    assert_eq!(delivery.header("content-type"), "application/json");
    assert!(delivery.header("x-openclaw-delivery").starts_with("dlv-"));
    let body = delivery.json();
    assert_eq!(body["type"], "message.received");
    assert_eq!(body["data"]["content"], content);
    let event_id = body["id"].as_str().unwrap();
    assert!(event_id.starts_with("evt-"));
    let listed = app.get("/v2/events?type=message.received").await;
    assert_eq!(listed.body["events"][0]["id"], event_id, "the delivered event is the logged one: {}", listed.text);
    // The seed's own verifySignature, run by Node on what was received.
    let file = tempfile::NamedTempFile::new().unwrap();
    let cases = json!([
        { "body": delivery.body, "signature": delivery.header("x-openclaw-signature"), "secret": "your-webhook-secret" },
        { "body": delivery.body, "signature": delivery.header("x-openclaw-signature"), "secret": "wrong-secret" },
    ]);
    std::fs::write(file.path(), cases.to_string()).unwrap();
    let mut node = std::process::Command::new("node");
    node.args([concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seed/verify_signature.cjs"), file.path().to_str().unwrap()]);
    let (ok, output) = run_tool(node).await;
    assert!(ok, "{output}");
    assert_eq!(output.split_whitespace().collect::<Vec<_>>(), ["true", "false"], "{output}");
    // The Standard Webhooks reference library accepts the same delivery, and refuses a tampered body.
    let mut tampered: Received = delivery.clone();
    tampered.body = tampered.body.replacen("message.received", "message.sent", 1);
    let verdicts = verify_with_library(&[(delivery, "your-webhook-secret"), (&tampered, "your-webhook-secret")]).await;
    assert_eq!(verdicts[0], "valid", "{verdicts:?}");
    assert!(verdicts[1].starts_with("invalid"), "{verdicts:?}");
}

async fn failed_deliveries_are_retried_with_backoff_and_every_attempt_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.answer(500, vec![]);
    receiver.answer(503, vec![("retry-after", "1".into())]);
    let hook = create_webhook(&app, &receiver.url("/hook"), json!(["*"]), None).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "a generated secret: {secret}");
    let id = hook["id"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    app.seed_agent().await; // no event; then one that is delivered:
    let agent = app.seed_agent().await;
    app.patch(&format!("/v2/agents/{agent}"), json!({ "description": "changed" })).await;
    let list = wait_deliveries(&app, &id, |list| list.iter().any(|d| d["status"] == "succeeded")).await;
    let done = list.iter().find(|d| d["status"] == "succeeded").unwrap();
    let codes: Vec<Value> = done["attempts"].as_array().unwrap().iter().map(|a| a["statusCode"].clone()).collect();
    assert_eq!(codes, [json!(500), json!(503), json!(200)], "{done:#}");
    assert_eq!(done["attemptCount"], 3);
    assert!(done["attempts"][0]["latencyMs"].as_i64().unwrap() >= 0);
    assert_eq!(done["attempts"][2]["responseExcerpt"], "ok");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not honoured");
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    let ids: Vec<String> = received.iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "a retry carries the same event id: {ids:?}");
    for r in &received {
        verify(r, &secret);
    }
    let hook = app.get(&format!("/v2/webhooks/{id}")).await;
    assert_eq!(hook.body["failingSince"], Value::Null, "a success clears the failure streak");
}

async fn gone_disables_the_endpoint_with_an_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.answer(410, vec![]);
    let hook = create_webhook(&app, &receiver.url("/gone"), json!(["agent.updated"]), None).await;
    let watcher = create_webhook(&app, &receiver.url("/watcher"), json!(["endpoint.disabled"]), None).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let agent = app.seed_agent().await;
    app.patch(&format!("/v2/agents/{agent}"), json!({ "description": "x" })).await;
    let list = wait_deliveries(&app, &id, |list| list.iter().any(|d| d["status"] == "failed")).await;
    assert_eq!(list[0]["attemptCount"], 1, "410 is not retried: {list:#?}");
    let read = app.get(&format!("/v2/webhooks/{id}")).await;
    assert_eq!(read.body["enabled"], false, "{}", read.text);
    assert!(read.body["disabledReason"].as_str().unwrap().contains("410"));
    let events = app.get("/v2/events?type=endpoint.disabled").await;
    assert_eq!(events.body["events"][0]["data"]["webhookId"], id.as_str(), "{}", events.text);
    let received = receiver.wait_for(2, WAIT).await;
    assert!(received.iter().any(|r| r.path == "/watcher" && r.json()["type"] == "endpoint.disabled"));
    verify(received.iter().find(|r| r.path == "/watcher").unwrap(), watcher["secret"].as_str().unwrap());
    // A disabled endpoint gets nothing new.
    app.patch(&format!("/v2/agents/{agent}"), json!({ "description": "y" })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&app, &id).await.len(), 1);
    // Re-enabling forgives.
    let enabled = app.patch(&format!("/v2/webhooks/{id}"), json!({ "enabled": true })).await;
    assert_eq!(enabled.body["enabled"], true);
    assert_eq!(enabled.body["disabledReason"], Value::Null);
}

async fn an_endpoint_failing_too_long_is_disabled(backend: Backend) {
    // "Too long" shrunk to 200 ms; the retry schedule (scaled by 0.001) keeps trying meanwhile.
    let app = spawn_app_with(backend, |config| config.webhook_disable_after_secs = 0).await;
    let receiver = Receiver::start().await;
    for _ in 0..5 {
        receiver.answer(500, vec![]);
    }
    let hook = create_webhook(&app, &receiver.url("/down"), json!(["agent.updated"]), None).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let agent = app.seed_agent().await;
    app.patch(&format!("/v2/agents/{agent}"), json!({ "description": "x" })).await;
    // First failure starts the streak (failingSince), the next one finds it too long.
    let list = wait_deliveries(&app, &id, |list| list.iter().any(|d| d["attemptCount"].as_i64() >= Some(2))).await;
    assert!(list[0]["attempts"].as_array().unwrap().iter().all(|a| a["statusCode"] == 500));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let read = app.get(&format!("/v2/webhooks/{id}")).await;
        if read.body["enabled"] == false {
            assert_eq!(read.body["disabledReason"], "the endpoint kept failing");
            assert!(read.body["failingSince"].is_string());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never disabled: {}", read.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = app.get("/v2/events?type=endpoint.disabled").await;
    assert_eq!(events.body["events"][0]["data"]["reason"], "the endpoint kept failing");
    // Its pending delivery is given up without another request.
    let list = wait_deliveries(&app, &id, |list| list[0]["status"] == "failed").await;
    assert_eq!(list[0]["lastError"], "the endpoint is disabled", "{list:#?}");
}

async fn a_backlog_drains_without_waiting_for_the_poll(backend: Backend) {
    // Two senders, a slow receiver and a 10 s poll: the backlog must flow as senders free up, not once per poll.
    let app = spawn_app_with(backend, |config| {
        config.webhook_concurrency = 2;
        config.webhook_poll_ms = 10_000;
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(100));
    create_webhook(&app, &receiver.url("/slow"), json!(["conversation.created"]), None).await;
    let agent = app.seed_agent().await;
    for _ in 0..12 {
        assert_eq!(app.post("/v2/conversations", json!({ "agentId": agent })).await.status, 201);
    }
    let started = std::time::Instant::now();
    receiver.wait_for(12, Duration::from_secs(8)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the backlog waited for the poll: {:?}", started.elapsed());
}

async fn rotation_signs_with_both_secrets_then_ping_and_redeliver(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    let hook = create_webhook(&app, &receiver.url("/r"), json!(["agent.updated"]), Some("old-secret-123")).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let rotated = app.post(&format!("/v2/webhooks/{id}/rotate-secret"), json!({ "gracePeriodSeconds": 3600 })).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, "old-secret-123");
    assert!(rotated.body["previousSecretExpiresAt"].is_string());
    let ping = app.post(&format!("/v2/webhooks/{id}/test"), json!({})).await;
    assert_eq!(ping.status, 202, "{}", ping.text);
    assert_eq!(ping.body["eventType"], "webhook.test");
    let received = receiver.wait_for(1, WAIT).await;
    let first = &received[0];
    assert_eq!(first.json()["type"], "webhook.test");
    verify(first, &new_secret);
    verify_previous(first, "old-secret-123");
    assert_eq!(first.header("webhook-signature").split(' ').count(), 2);
    assert!(!first.header("x-openclaw-signature-previous").is_empty());
    // Receivers on either secret accept it with the reference library; a `whsec_` secret is base64-decoded there.
    let verdicts =
        verify_with_library(&[(first, &new_secret), (first, "old-secret-123"), (first, "some-other-secret")]).await;
    assert_eq!(verdicts[..2], ["valid", "valid"], "{verdicts:?}");
    assert!(verdicts[2].starts_with("invalid"), "{verdicts:?}");
    // Redeliver: the same event id, a new delivery id.
    let redelivered = app
        .post(&format!("/v2/webhooks/{id}/deliveries/{}/redeliver", ping.body["id"].as_str().unwrap()), json!({}))
        .await;
    assert_eq!(redelivered.status, 202, "{}", redelivered.text);
    assert_ne!(redelivered.body["id"], ping.body["id"]);
    let received = receiver.wait_for(2, WAIT).await;
    assert_eq!(received[1].json()["id"], received[0].json()["id"]);
    assert_ne!(received[1].header("webhook-id"), received[0].header("webhook-id"));
    // Rotation with no grace: only the new secret signs.
    let rotated = app
        .post(
            &format!("/v2/webhooks/{id}/rotate-secret"),
            json!({ "secret": "third-secret-xyz", "gracePeriodSeconds": 0 }),
        )
        .await;
    assert_eq!(rotated.body["secret"], "third-secret-xyz");
    app.post(&format!("/v2/webhooks/{id}/test"), json!({})).await;
    let received = receiver.wait_for(3, WAIT).await;
    verify(&received[2], "third-secret-xyz");
    assert_eq!(received[2].header("webhook-signature").split(' ').count(), 1);
}

async fn outbound_urls_are_ssrf_guarded(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.outbound_allowlist = String::new()).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/x",
        "http://localhost:8080/",
        "http://[::1]/",
    ] {
        let reply = app.post("/v2/webhooks", json!({ "url": url, "events": ["*"] })).await;
        reply.assert_error(400, "url_forbidden");
    }
    for url in ["ftp://example.com/x", "http://user:pass@example.com/", "not a url"] {
        let reply = app.post("/v2/webhooks", json!({ "url": url, "events": ["*"] })).await;
        reply.assert_error(400, "invalid_url");
    }
    let task = app
        .post("/v2/tasks", json!({ "type": "analysis", "input": { "fileUrl": "http://192.168.1.1/data.csv" } }))
        .await;
    task.assert_error(400, "url_forbidden");
    let task = app
        .post("/v2/tasks", json!({ "type": "noop", "input": {}, "callback": { "url": "http://127.0.0.1:1/cb" } }))
        .await;
    task.assert_error(400, "url_forbidden");
    assert_eq!(app.get("/v2/webhooks").await.body["pagination"]["total"], 0, "nothing was stored");
    assert_eq!(app.get("/v2/tasks").await.body["tasks"], json!([]));
}

async fn bad_webhooks_are_refused_and_other_tenants_see_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    let bad = app.post("/v2/webhooks", json!({ "url": receiver.url("/"), "events": ["task.exploded"] })).await;
    bad.assert_error(400, "validation_error");
    assert_eq!(bad.field(), "events");
    app.post("/v2/webhooks", json!({ "url": receiver.url("/"), "events": [] }))
        .await
        .assert_error(400, "validation_error");
    app.post("/v2/webhooks", json!({ "url": receiver.url("/"), "events": ["*"], "secret": "short" }))
        .await
        .assert_error(400, "validation_error");
    app.post("/v2/webhooks", json!({ "events": ["*"] })).await.assert_error(400, "validation_error");
    let hook = create_webhook(&app, &receiver.url("/"), json!(["*"]), None).await;
    let id = hook["id"].as_str().unwrap();
    let other = app.create_key("tenant-b", openclaw::auth::Plan::Free, &["*"]).await;
    for (method, path) in [
        (reqwest::Method::GET, format!("/v2/webhooks/{id}")),
        (reqwest::Method::PATCH, format!("/v2/webhooks/{id}")),
        (reqwest::Method::DELETE, format!("/v2/webhooks/{id}")),
        (reqwest::Method::GET, format!("/v2/webhooks/{id}/deliveries")),
        (reqwest::Method::POST, format!("/v2/webhooks/{id}/test")),
        (reqwest::Method::POST, format!("/v2/webhooks/{id}/rotate-secret")),
    ] {
        let body = (method == reqwest::Method::PATCH).then(|| json!({ "enabled": false }));
        app.send(method, &path, Some(&other), body).await.assert_error(404, "not_found");
    }
    assert_eq!(app.send(reqwest::Method::GET, "/v2/events", Some(&other), None).await.body["events"], json!([]));
    let read_only = app.create_key("tenant-a", openclaw::auth::Plan::Free, &["webhooks:read"]).await;
    app.send(
        reqwest::Method::POST,
        "/v2/webhooks",
        Some(&read_only),
        Some(json!({ "url": receiver.url("/"), "events": ["*"] })),
    )
    .await
    .assert_error(403, "forbidden");
    assert_eq!(app.delete(&format!("/v2/webhooks/{id}")).await.status, 204);
    app.get(&format!("/v2/webhooks/{id}")).await.assert_error(404, "not_found");
}

async fn events_are_listed_filtered_and_paged(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.seed_agent().await;
    for n in 0..3 {
        app.patch(&format!("/v2/agents/{agent}"), json!({ "description": format!("v{n}") })).await;
    }
    let conversation = app.post("/v2/conversations", json!({ "agentId": agent })).await;
    let all = app.get("/v2/events").await;
    let types: Vec<&str> = all.body["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["agent.updated", "agent.updated", "agent.updated", "conversation.created"], "{}", all.text);
    let created = &all.body["events"][3];
    assert_eq!(created["data"]["conversationId"], conversation.body["id"]);
    let page = app.get("/v2/events?type=agent.updated&limit=2").await;
    assert_eq!(page.body["events"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["pagination"]["hasMore"], true);
    let next = page.body["pagination"]["nextCursor"].as_str().unwrap();
    let rest = app.get(&format!("/v2/events?type=agent.updated&limit=2&after={next}")).await;
    assert_eq!(rest.body["events"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["pagination"]["hasMore"], false);
    app.get("/v2/events?type=nope").await.assert_error(400, "validation_error");
    let one = app.get(&format!("/v2/events/{}", created["id"].as_str().unwrap())).await;
    assert_eq!(one.body["type"], "conversation.created");
    // GraphQL sees the same log.
    let gql = app.graphql("{ events(types: [\"conversation.created\"]) { events { id type } } }", json!({})).await;
    assert_eq!(gql.body["data"]["events"]["events"][0]["id"], created["id"]);
}
