//! Fair webhook delivery across tenants: one account's backlog to slow endpoints cannot take every sender, and an
//! account's number of endpoints is capped.
use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::State, http::Uri, routing::any};
use openclaw::auth::Plan;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};

use crate::{
    db_tests,
    helpers::{Backend, TestApp, spawn_app_with},
    receiver::Receiver,
};

db_tests!(one_tenants_backlog_does_not_stall_another_tenants_webhooks, endpoints_per_account_are_capped);

const WAIT: Duration = Duration::from_secs(20);

/// What the holding receiver has seen, by tenant (a path's first segment) and by path.
#[derive(Debug, Default, Clone)]
struct Seen {
    arrived: HashMap<String, usize>,
    in_flight: HashMap<String, usize>,
    most_in_flight: HashMap<String, usize>,
    path_in_flight: HashMap<String, usize>,
    path_most_in_flight: HashMap<String, usize>,
}

impl Seen {
    fn get(map: &HashMap<String, usize>, key: &str) -> usize {
        map.get(key).copied().unwrap_or(0)
    }
}

struct Holding {
    seen: watch::Sender<Seen>,
    /// Requests under `/x/` wait for a permit here before they are answered: the test decides when they end.
    release: Semaphore,
}

/// A receiver whose `/x/…` requests stay in flight until released, counting how many are in flight at once.
async fn holding_receiver() -> (SocketAddr, Arc<Holding>) {
    async fn handle(State(holding): State<Arc<Holding>>, uri: Uri) -> &'static str {
        let path = uri.path().to_owned();
        let tenant = path.trim_start_matches('/').split('/').next().unwrap_or_default().to_owned();
        holding.seen.send_modify(|seen| {
            *seen.arrived.entry(tenant.clone()).or_default() += 1;
            let now = seen.in_flight.entry(tenant.clone()).or_default();
            *now += 1;
            let now = *now;
            let most = seen.most_in_flight.entry(tenant.clone()).or_default();
            *most = (*most).max(now);
            let now = seen.path_in_flight.entry(path.clone()).or_default();
            *now += 1;
            let now = *now;
            let most = seen.path_most_in_flight.entry(path.clone()).or_default();
            *most = (*most).max(now);
        });
        if tenant == "x" {
            holding.release.acquire().await.unwrap().forget();
        }
        holding.seen.send_modify(|seen| {
            *seen.in_flight.entry(tenant).or_default() -= 1;
            *seen.path_in_flight.entry(path).or_default() -= 1;
        });
        "ok"
    }
    let holding = Arc::new(Holding { seen: watch::Sender::new(Seen::default()), release: Semaphore::new(0) });
    let router = Router::new().fallback(any(handle)).with_state(holding.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, holding)
}

/// Waits (on the receiver's updates, not a timer) until `check` holds.
async fn wait_seen(holding: &Holding, what: &str, check: impl Fn(&Seen) -> bool) -> Seen {
    let mut updates = holding.seen.subscribe();
    match tokio::time::timeout(WAIT, updates.wait_for(|seen| check(seen))).await {
        Ok(Ok(seen)) => seen.clone(),
        _ => panic!("{what} never happened: {:#?}", *holding.seen.borrow()),
    }
}

async fn create_webhook_as(app: &TestApp, key: &str, url: &str) -> String {
    let reply = app
        .send(Method::POST, "/v2/webhooks", Some(key), Some(json!({ "url": url, "events": ["agent.updated"] })))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn ping_as(app: &TestApp, key: &str, webhook: &str) {
    let reply = app.send(Method::POST, &format!("/v2/webhooks/{webhook}/test"), Some(key), Some(json!({}))).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
}

async fn one_tenants_backlog_does_not_stall_another_tenants_webhooks(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        // Without per-account caps tenant X's backlog would fill all six senders and Y would wait for X.
        config.webhook_concurrency = 6;
        config.webhook_account_concurrency = 3;
        config.webhook_endpoint_concurrency = 2;
        // Held requests must not time out; and with no poll to speak of, X's backlog can only move on if a
        // finishing delivery wakes the worker to claim the room it freed.
        config.webhook_timeout_secs = 300;
        config.webhook_poll_ms = 600_000;
    })
    .await;
    let (addr, holding) = holding_receiver().await;
    let url = |path: &str| format!("http://{addr}{path}");
    let x_key = app.key.clone();
    let y_key = app.create_key("tenant-y", Plan::Free, &["*"]).await;

    // Tenant X: two slow endpoints and a backlog of 20 deliveries (pings), 10 to each.
    let x_hooks =
        [create_webhook_as(&app, &x_key, &url("/x/1")).await, create_webhook_as(&app, &x_key, &url("/x/2")).await];
    for _ in 0..10 {
        for hook in &x_hooks {
            ping_as(&app, &x_key, hook).await;
        }
    }
    wait_seen(&holding, "X reaching its cap of 3 deliveries in flight", |seen| Seen::get(&seen.in_flight, "x") == 3)
        .await;

    // Tenant Y's one event is delivered while all of X's stay held.
    let y_hook = create_webhook_as(&app, &y_key, &url("/y")).await;
    ping_as(&app, &y_key, &y_hook).await;
    let seen = wait_seen(&holding, "Y's delivery arriving", |seen| Seen::get(&seen.arrived, "y") == 1).await;
    assert_eq!(Seen::get(&seen.arrived, "x"), 3, "X got more than its 3 places while held: {seen:#?}");
    assert_eq!(Seen::get(&seen.in_flight, "x"), 3, "{seen:#?}");

    // Released, X's backlog drains, never more than 3 at once, nor more than 2 at one endpoint.
    holding.release.add_permits(20);
    let seen = wait_seen(&holding, "X's 20 deliveries completing", |seen| {
        Seen::get(&seen.arrived, "x") == 20 && Seen::get(&seen.in_flight, "x") == 0
    })
    .await;
    assert_eq!(Seen::get(&seen.most_in_flight, "x"), 3, "the account cap: {seen:#?}");
    for path in ["/x/1", "/x/2"] {
        assert!(Seen::get(&seen.path_most_in_flight, path) <= 2, "the endpoint cap at {path}: {seen:#?}");
    }
    assert_eq!(Seen::get(&seen.arrived, "y"), 1, "{seen:#?}");
}

async fn endpoints_per_account_are_capped(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.webhook_max_endpoints_per_account = 3).await;
    let receiver = Receiver::start().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(create_webhook_as(&app, &app.key, &receiver.url(&format!("/h/{n}"))).await);
    }
    let refused = app.post("/v2/webhooks", json!({ "url": receiver.url("/h/3"), "events": ["*"] })).await;
    refused.assert_error(409, "webhook_limit_reached");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("limit is 3"), "{}", refused.text);
    let listed = app.get("/v2/webhooks").await;
    assert_eq!(listed.body["pagination"]["total"], 3, "the refused endpoint is not stored: {}", listed.text);
    // GraphQL refuses it the same way.
    let reply = app
        .graphql(
            "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { id } }",
            json!({ "input": { "url": receiver.url("/h/4"), "events": ["*"] } }),
        )
        .await;
    assert_eq!(reply.body["errors"][0]["extensions"]["code"], "webhook_limit_reached", "{}", reply.text);
    assert_eq!(app.get("/v2/webhooks").await.body["pagination"]["total"], 3);

    // The existing endpoints keep working; another account has its own allowance.
    ping_as(&app, &app.key, &ids[0]).await;
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received[0].path, "/h/0");
    assert_eq!(received[0].json()["type"], Value::from("webhook.test"));
    let other = app.create_key("tenant-other", Plan::Free, &["*"]).await;
    create_webhook_as(&app, &other, &receiver.url("/other")).await;
    // Deleting one makes room again.
    assert_eq!(app.delete(&format!("/v2/webhooks/{}", ids[1])).await.status, 204);
    create_webhook_as(&app, &app.key, &receiver.url("/h/5")).await;
}
