//! Plans, rate limits, concurrency limits and token quotas, over real HTTP with a manual clock (no sleeping
//! through minutes); the shared-limit tests use the real Redis on 127.0.0.1:6379 under a key prefix of their own.
use std::time::Duration;

use openclaw::{auth::Plan, config::Config, limits::Clock};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    db_tests,
    helpers::{Backend, Reply, TestApp, spawn_app_with, spawn_sibling},
};

db_tests!(
    a_burst_of_sends_overshoots_the_month_by_at_most_one_reservation,
    exactly_the_limit_passes_then_429_with_honest_headers,
    graphql_operations_pay_their_complexity,
    each_batch_operation_is_counted,
    open_streams_hold_concurrency_slots,
    a_free_month_runs_out_of_tokens_on_the_echo_model,
    pro_overage_is_billed_exactly,
    two_instances_share_one_limit_through_redis,
    an_unreachable_redis_fails_open_or_closed_as_configured,
    plans_change_through_the_admin_api_and_the_cli,
    a_revoked_key_is_refused_on_its_next_request_while_a_stream_is_open,
    a_redis_restart_degrades_then_limits_again,
    websocket_subscriptions_pay_their_cost_and_a_clock_jump_lifts_nothing,
);

const REDIS: &str = "redis://127.0.0.1:6379";

/// Limits on, a clock that only moves when told.
async fn limited(backend: Backend, tweak: impl FnOnce(&mut Config)) -> (TestApp, Clock) {
    let clock = Clock::manual(chrono::Utc::now().timestamp_millis());
    let manual = clock.clone();
    let app = spawn_app_with(backend, move |config| {
        config.limits_enabled = true;
        config.clock = manual;
        tweak(config);
    })
    .await;
    (app, clock)
}

fn header(reply: &Reply, name: &str) -> String {
    reply.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_else(|| panic!("no {name} header"))
}

fn remaining(reply: &Reply) -> i64 {
    header(reply, "x-ratelimit-remaining").parse().unwrap()
}

async fn exactly_the_limit_passes_then_429_with_honest_headers(backend: Backend) {
    let (app, clock) = limited(backend, |_| {}).await;
    let start_secs = clock.now_ms() / 1000;
    for n in 0..60 {
        let reply = app.get("/v2/agents").await;
        assert_eq!(reply.status, 200, "request {n}: {}", reply.text);
        assert_eq!(header(&reply, "x-ratelimit-limit"), "60");
        assert_eq!(remaining(&reply), 59 - n);
        assert_eq!(header(&reply, "ratelimit-policy"), "\"per-minute\";q=60;w=60");
        assert_eq!(header(&reply, "ratelimit"), format!("\"per-minute\";r={};t={}", 59 - n, n + 1));
        // Reset: when the whole allowance is back (epoch seconds, rounded up).
        let reset: i64 = header(&reply, "x-ratelimit-reset").parse().unwrap();
        assert!((start_secs + n + 1..=start_secs + n + 2).contains(&reset), "reset {reset} for request {n}");
    }
    let refused = app.get("/v2/agents").await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(header(&refused, "retry-after"), "1");
    assert_eq!(remaining(&refused), 0);
    assert_eq!(refused.body["error"]["details"]["retryAfter"], 1);
    // Errors and other routes carry the state too, and every one of them counts.
    clock.advance(999);
    let still = app.get("/v2/agents/agent-nope").await;
    still.assert_error(429, "rate_limited");
    // Retry-After is never early: at exactly that moment one unit is back.
    clock.advance(1);
    let back = app.get("/v2/agents/agent-nope").await;
    back.assert_error(404, "not_found");
    assert_eq!(remaining(&back), 0);
    // A minute later the whole allowance is back — and only that: no double burst at a window boundary.
    clock.advance(60_000);
    let mut passed = Vec::new();
    for _ in 0..70 {
        passed.push(app.get("/v2/skills?limit=1").await);
    }
    assert_eq!(passed.iter().filter(|r| r.status == 200).count(), 60);
    assert_eq!(passed.iter().filter(|r| r.status == 429).count(), 10);
    // Unauthenticated requests are not counted against anyone, and unmetered paths carry no headers.
    assert!(app.client.get(app.url("/healthz")).send().await.unwrap().headers().get("x-ratelimit-limit").is_none());
    // Another tenant has its own allowance.
    let other = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let reply = app.send(Method::GET, "/v2/agents", Some(&other), None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(remaining(&reply), 59);
    // Enterprise is unlimited: no limit to report.
    let big = app.create_key("tenant-c", Plan::Enterprise, &["*"]).await;
    for _ in 0..80 {
        let reply = app.send(Method::GET, "/v2/agents", Some(&big), None).await;
        assert_eq!(reply.status, 200);
        assert!(reply.headers.get("x-ratelimit-limit").is_none());
    }
}

async fn graphql_operations_pay_their_complexity(backend: Backend) {
    let (app, _clock) = limited(backend, |_| {}).await;
    let reply = app.graphql("{ viewer { accountId plan } }", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let cost = &reply.body["extensions"]["cost"];
    let complexity = cost["complexity"].as_i64().unwrap();
    assert!(complexity >= 2, "{cost}");
    assert_eq!(cost["charged"], complexity);
    assert_eq!(cost["remaining"], 60 - complexity);
    assert_eq!(remaining(&reply), 60 - complexity, "headers report the state after the operation's cost");
    // One query with 40 aliased viewers costs more than the minute's whole allowance: no retry could ever pass.
    let huge: String = (0..40).map(|i| format!("v{i}: viewer {{ accountId }} ")).collect();
    let too_costly = app.graphql(&format!("{{ {huge} }}"), json!({})).await;
    assert_eq!(too_costly.body["errors"][0]["extensions"]["code"], "query_too_costly", "{}", too_costly.text);
    assert!(too_costly.body.get("data").is_none() || too_costly.body["data"].is_null());
    // One that fits the minute but not what is left: 429 with the wait until it fits.
    let left = remaining(&app.get("/v2/agents").await);
    let fits: String = (0..(left / 2 + 1)).map(|i| format!("v{i}: viewer {{ accountId }} ")).collect();
    let refused = app.graphql(&format!("{{ {fits} }}"), json!({})).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["extensions"]["code"], "rate_limited", "{}", refused.text);
    assert!(header(&refused, "retry-after").parse::<u64>().unwrap() >= 1);
    // REST calls cost 1 whatever document runs behind them.
    let before = remaining(&app.get("/v2/agents").await);
    assert_eq!(remaining(&app.get("/v2/agents").await), before - 1);
    // A GraphQL request batch pays each operation's cost; the request's first unit is counted once.
    let start = remaining(&app.get("/v2/agents").await);
    let response = app
        .client
        .post(app.url("/v2/graphql"))
        .header("X-API-Key", &app.key)
        .json(&json!([{ "query": "{ viewer { accountId } }" }, { "query": "{ viewer { accountId } }" }]))
        .send()
        .await
        .unwrap();
    let after: i64 = response.headers()["x-ratelimit-remaining"].to_str().unwrap().parse().unwrap();
    assert_eq!(start - after, 4, "two operations of cost 2");
}

async fn each_batch_operation_is_counted(backend: Backend) {
    let (app, _clock) = limited(backend, |config| {
        config.plans.free.requests_per_minute = Some(8);
        // Operations run under the batch's slot: a batch works even when only one request may be in flight.
        config.plans.free.concurrent_requests = Some(1);
    })
    .await;
    let ops: Vec<Value> = (0..10).map(|_| json!({ "method": "GET", "path": "/skills?limit=1" })).collect();
    let reply = app.post("/v2/batch", json!({ "operations": ops })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let statuses: Vec<u64> =
        reply.body["results"].as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 429, 429], "the envelope itself is free");
    assert_eq!(remaining(&reply), 0);
    assert_eq!(reply.body["results"][8]["headers"]["retry-after"], "8");
}

/// A GraphQL subscription over SSE: an open stream until dropped.
async fn open_stream(app: &TestApp) -> reqwest::Response {
    let response = app
        .client
        .post(app.url("/v2/graphql"))
        .header("X-API-Key", &app.key)
        .header("Accept", "text/event-stream")
        .json(&json!({ "query": "subscription { events { type } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

async fn open_streams_hold_concurrency_slots(backend: Backend) {
    let (app, _clock) = limited(backend, |config| {
        config.plans.free.concurrent_requests = Some(3);
        // The server notices a client that went away when it next writes: a heartbeat every second.
        config.stream_heartbeat_secs = 1;
    })
    .await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(open_stream(&app).await);
    }
    let refused = app.get("/v2/agents").await;
    refused.assert_error(429, "concurrency_limited");
    assert_eq!(header(&refused, "retry-after"), "1");
    assert_eq!(refused.body["error"]["details"]["limit"], 3);
    // A WebSocket connection is one more request in flight: refused at connection_init.
    let mut ws = crate::websocket::connect(&app, "graphql-transport-ws").await;
    crate::websocket::send(&mut ws, json!({ "type": "connection_init", "payload": { "X-API-Key": app.key } })).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), futures_util::StreamExt::next(&mut ws)).await.unwrap();
    assert!(matches!(closed, Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))), "{closed:?}");
    // Closing a stream frees its slot.
    streams.pop();
    let mut freed = None;
    for _ in 0..250 {
        let reply = app.get("/v2/agents").await;
        if reply.status == 200 {
            freed = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed.is_some(), "the slot came back once the stream closed");
    let usage = app.get("/v2/usage").await;
    assert_eq!(usage.body["requests"]["concurrentLimit"], 3);
    assert_eq!(usage.body["requests"]["inFlight"], 3, "two streams and this request: {}", usage.text);
}

async fn send(app: &TestApp, conversation: &str, content: &str) -> Reply {
    app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": content })).await
}

async fn a_free_month_runs_out_of_tokens_on_the_echo_model(backend: Backend) {
    let (app, _clock) = limited(backend, |config| {
        config.plans.free.tokens_per_month = Some(100);
        config.echo_token_delay_ms = 0;
    })
    .await;
    let receiver = crate::receiver::Receiver::start().await;
    let hook = app.post("/v2/webhooks", json!({ "url": receiver.url("/usage"), "events": ["usage.threshold"] })).await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let (_, conversation) = app.echo_conversation().await;
    let mut sent = 0;
    let refused = loop {
        let reply = send(&app, &conversation, "the quick brown fox jumps over the lazy dog").await;
        if reply.status != 200 {
            break reply;
        }
        sent += 1;
        assert!(sent < 50, "the allowance never ran out");
    };
    refused.assert_error(429, "quota_exceeded");
    assert_eq!(refused.body["error"]["details"]["included"], 100);
    let retry_after: i64 = header(&refused, "retry-after").parse().unwrap();
    let usage = app.get("/v2/usage").await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    let tokens = &usage.body["tokens"];
    let used = tokens["used"].as_i64().unwrap();
    assert!(used >= 100, "refused only once the allowance was used: {tokens}");
    assert_eq!(tokens["included"], 100);
    assert_eq!(tokens["remaining"], 0);
    assert_eq!(tokens["overageCostMicroUsd"], 0, "free never bills");
    assert_eq!(tokens["blocksWhenExhausted"], true);
    assert_eq!(usage.body["modelCalls"], sent);
    let period_end = chrono::DateTime::parse_from_rfc3339(usage.body["period"]["end"].as_str().unwrap()).unwrap();
    let until_renewal = (period_end.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!((until_renewal - 5..=until_renewal + 5).contains(&retry_after), "retry when the month renews");
    let daily = usage.body["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 1);
    assert_eq!(daily[0]["totalTokens"], used);
    assert_eq!(daily[0]["date"], chrono::Utc::now().format("%Y-%m-%d").to_string());
    // Nothing was stored for the refused message.
    let messages = app.get(&format!("/v2/conversations/{conversation}/messages?limit=100")).await;
    assert_eq!(messages.body["messages"].as_array().unwrap().len(), sent * 2);
    // 80% and 100% were each announced once, as events and to the webhook.
    let events = app.get("/v2/events?type=usage.threshold").await;
    let thresholds: Vec<Value> =
        events.body["events"].as_array().unwrap().iter().map(|e| e["data"]["threshold"].clone()).collect();
    assert_eq!(thresholds, [json!(80), json!(100)], "{}", events.text);
    let delivered = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|d| d.json()["type"] == "usage.threshold"));
    // Tasks that would call a model are refused too; others are not.
    let task = app
        .post("/v2/tasks", json!({ "type": "agent.run", "input": { "conversationId": conversation, "content": "hi" } }))
        .await;
    task.assert_error(429, "quota_exceeded");
    assert_eq!(app.post("/v2/tasks", json!({ "type": "noop", "input": {} })).await.status, 202);
}

async fn a_burst_of_sends_overshoots_the_month_by_at_most_one_reservation(backend: Backend) {
    let included = 300;
    let (app, _clock) = limited(backend, |config| {
        config.plans.free.tokens_per_month = Some(included);
        config.plans.free.concurrent_requests = None;
        config.plans.free.requests_per_minute = None;
        config.echo_token_delay_ms = 2;
    })
    .await;
    let agent = app.post("/v2/agents", json!({"name": "burst", "model": "echo", "settings": {"maxTokens": 60}})).await;
    assert_eq!(agent.status, 201, "{}", agent.text);
    let agent = agent.body["id"].as_str().unwrap().to_owned();
    let mut conversations = Vec::new();
    for _ in 0..12 {
        let conversation = app.post("/v2/conversations", json!({"agentId": agent})).await;
        conversations.push(conversation.body["id"].as_str().unwrap().to_owned());
    }
    let content = "a burst of sends that all arrive at once, each asking for a long answer about everything";
    let replies = futures_util::future::join_all(conversations.iter().map(|c| send(&app, c, content))).await;
    let admitted = replies.iter().filter(|r| r.status == 200).count();
    for refused in replies.iter().filter(|r| r.status != 200) {
        refused.assert_error(429, "quota_exceeded");
    }
    assert!((1..12).contains(&admitted), "some were admitted and some refused: {admitted}");
    let used = app.get("/v2/usage").await.body["tokens"]["used"].as_u64().unwrap();
    // One reply's reservation: its message, no system prompt, and its maxTokens.
    let reservation = openclaw::llm::tokens::count(content) + 60;
    assert!(used <= included + reservation, "used {used} of {included} (one reservation is {reservation})");
    let account = openclaw::services::accounts::find_or_create(&app.state.db, "tenant-a", openclaw::auth::Plan::Free)
        .await
        .unwrap();
    assert_eq!(app.state.limiter.reserved_tokens(&account.id), 0, "every reservation settled");
}

async fn pro_overage_is_billed_exactly(backend: Backend) {
    let (app, _clock) = limited(backend, |config| {
        config.plans.pro.tokens_per_month = Some(10);
        config.echo_token_delay_ms = 0;
    })
    .await;
    let pro = app.create_key("tenant-pro", Plan::Pro, &["*"]).await;
    let agent =
        app.send(Method::POST, "/v2/agents", Some(&pro), Some(json!({ "name": "echo", "model": "echo" }))).await;
    let conversation =
        app.send(Method::POST, "/v2/conversations", Some(&pro), Some(json!({ "agentId": agent.body["id"] }))).await;
    let path = format!("/v2/conversations/{}/messages", conversation.body["id"].as_str().unwrap());
    for _ in 0..3 {
        let reply =
            app.send(Method::POST, &path, Some(&pro), Some(json!({ "content": "over the allowance we go" }))).await;
        assert_eq!(reply.status, 200, "pro is never blocked: {}", reply.text);
    }
    let usage = app.send(Method::GET, "/v2/usage", Some(&pro), None).await;
    let tokens = &usage.body["tokens"];
    let used = tokens["used"].as_i64().unwrap();
    assert!(used > 10);
    assert_eq!(tokens["overage"], used - 10);
    // $0.02 per 1K tokens = 20 micro-dollars per token, exactly.
    assert_eq!(tokens["overageCostMicroUsd"], (used - 10) * 20);
    assert_eq!(tokens["overageCost"], format!("$0.{:06}", (used - 10) * 20));
    assert_eq!(tokens["blocksWhenExhausted"], false);
    assert_eq!(usage.body["plan"], "pro");
    assert_eq!(usage.body["requests"]["limitPerMinute"], 600);
}

async fn two_instances_share_one_limit_through_redis(backend: Backend) {
    let prefix = format!("openclaw-test-{}:", uuid::Uuid::new_v4().simple());
    let shared = prefix.clone();
    let (first, clock) = limited(backend, move |config| {
        config.redis_url = Some(REDIS.into());
        config.redis_key_prefix = shared;
        config.plans.free.requests_per_minute = Some(10);
        config.plans.free.concurrent_requests = Some(2);
    })
    .await;
    let second = spawn_sibling(&first, |_| {}).await;
    let mut statuses = Vec::new();
    for n in 0..12 {
        let app = if n % 2 == 0 { &first } else { &second };
        statuses.push(app.get("/v2/agents").await.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 429, 429], "one limit across both");
    let last = second.get("/v2/agents").await;
    assert_eq!(remaining(&last), 0);
    assert_eq!(header(&last, "retry-after"), "6");
    clock.advance(6_000);
    assert_eq!(first.get("/v2/agents").await.status, 200, "the clock is shared by both instances");
    assert_eq!(first.state.limiter.store_errors(), 0);
    // Concurrency slots are shared too: one stream open on each instance fills the account's two.
    clock.advance(60_000);
    let _one = open_stream(&first).await;
    let _two = open_stream(&second).await;
    first.get("/v2/agents").await.assert_error(429, "concurrency_limited");
    second.get("/v2/agents").await.assert_error(429, "concurrency_limited");
    let keys: Vec<String> = redis_keys(&format!("{prefix}*")).await;
    assert!(keys.iter().any(|key| key.starts_with(&format!("{prefix}slots:"))), "{keys:?}");
    assert!(keys.iter().any(|key| key.starts_with(&format!("{prefix}rate:"))), "{keys:?}");
}

async fn redis_keys(pattern: &str) -> Vec<String> {
    let client = redis::Client::open(REDIS).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS").arg(pattern).query_async(&mut connection).await.unwrap()
}

async fn an_unreachable_redis_fails_open_or_closed_as_configured(backend: Backend) {
    let (open, _clock) = limited(backend, |config| {
        config.redis_url = Some("redis://127.0.0.1:1".into());
        config.plans.free.requests_per_minute = Some(1);
    })
    .await;
    for _ in 0..3 {
        let reply = open.get("/v2/agents").await;
        assert_eq!(reply.status, 200, "fails open: {}", reply.text);
        assert!(reply.headers.get("x-ratelimit-limit").is_none(), "no state to report");
    }
    assert!(open.state.limiter.store_errors() >= 3, "each failure is counted");
    let closed = spawn_sibling(&open, |config| config.limits_fail_open = false).await;
    closed.get("/v2/agents").await.assert_error(503, "service_unavailable");
}

async fn plans_change_through_the_admin_api_and_the_cli(backend: Backend) {
    let (app, _clock) = limited(backend, |_| {}).await;
    assert_eq!(header(&app.get("/v2/agents").await, "x-ratelimit-limit"), "60");
    let body = json!({ "plan": "pro" });
    // `*` does not imply `admin`.
    app.patch("/v2/admin/accounts/tenant-a", body.clone()).await.assert_error(403, "forbidden");
    let admin = app.create_key("operators", Plan::Enterprise, &["admin"]).await;
    let changed = app.send(Method::PATCH, "/v2/admin/accounts/tenant-a", Some(&admin), Some(body)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["plan"], "pro");
    assert_eq!(changed.body["name"], "tenant-a");
    assert_eq!(header(&app.get("/v2/agents").await, "x-ratelimit-limit"), "600", "the new plan applies at once");
    let bad =
        app.send(Method::PATCH, "/v2/admin/accounts/tenant-a", Some(&admin), Some(json!({ "plan": "gold" }))).await;
    bad.assert_error(400, "validation_error");
    assert_eq!(bad.body["error"]["details"]["field"], "plan");
    let missing =
        app.send(Method::PATCH, "/v2/admin/accounts/nobody", Some(&admin), Some(json!({ "plan": "pro" }))).await;
    missing.assert_error(404, "not_found");
    // The CLI: `openclaw accounts set-plan`.
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_openclaw"))
            .args(args)
            .env("OPENCLAW_DATABASE_URL", &app.state.config.database_url)
            .output()
            .unwrap()
    };
    let output = cli(&["accounts", "set-plan", "--account", "tenant-a", "--plan", "enterprise"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("pro → enterprise"));
    assert!(app.get("/v2/agents").await.headers.get("x-ratelimit-limit").is_none(), "enterprise: unlimited");
    let output = cli(&["accounts", "set-plan", "--account", "tenant-a", "--plan", "gold"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("gold"), "{}", String::from_utf8_lossy(&output.stderr));
    let output = cli(&["accounts", "set-plan", "--account", "nobody", "--plan", "pro"]);
    assert!(!output.status.success());
}

async fn a_revoked_key_is_refused_on_its_next_request_while_a_stream_is_open(backend: Backend) {
    let (app, _clock) = limited(backend, |_| {}).await;
    let _stream = open_stream(&app).await;
    let keys = openclaw::services::accounts::list_keys(&app.state.db, Some("tenant-a")).await.unwrap();
    openclaw::services::accounts::revoke_key(&app.state.db, &keys[0].id).await.unwrap();
    app.get("/v2/agents").await.assert_error(401, "unauthenticated");
}

/// A Redis of this test's own on a free port, so it can be stopped and started.
struct OwnRedis {
    port: u16,
    child: std::process::Child,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        Self { port, child }
    }

    async fn wait_ready(&self) {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start on {}", self.port);
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn a_redis_restart_degrades_then_limits_again(backend: Backend) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut redis = OwnRedis::start(port);
    redis.wait_ready().await;
    let (app, _clock) = limited(backend, move |config| {
        config.redis_url = Some(format!("redis://127.0.0.1:{port}"));
        config.plans.free.requests_per_minute = Some(5);
    })
    .await;
    for n in 0..5 {
        assert_eq!(remaining(&app.get("/v2/agents").await), 4 - n);
    }
    app.get("/v2/agents").await.assert_error(429, "rate_limited");
    redis.stop();
    // Down: requests pass (fail open), uncounted, and every failure is counted.
    let errors_before = app.state.limiter.store_errors();
    for _ in 0..3 {
        let reply = app.get("/v2/agents").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply.headers.get("x-ratelimit-limit").is_none());
    }
    assert!(app.state.limiter.store_errors() >= errors_before + 3);
    // Back (empty, as a restarted Redis without persistence is): limits apply again, never lifted for good.
    let redis = OwnRedis::start(port);
    redis.wait_ready().await;
    let mut limited_again = false;
    for _ in 0..100 {
        let reply = app.get("/v2/agents").await;
        if reply.headers.get("x-ratelimit-limit").is_some() {
            limited_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(limited_again, "the limiter reconnected");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get("/v2/agents").await.status.as_u16());
    }
    assert!(statuses.contains(&429), "the limit is enforced again: {statuses:?}");
}

async fn websocket_subscriptions_pay_their_cost_and_a_clock_jump_lifts_nothing(backend: Backend) {
    let (app, clock) = limited(backend, |_| {}).await;
    let before = remaining(&app.get("/v2/agents").await);
    let mut ws = crate::websocket::connect(&app, "graphql-transport-ws").await;
    crate::websocket::send(&mut ws, json!({ "type": "connection_init", "payload": { "X-API-Key": app.key } })).await;
    assert_eq!(crate::websocket::next_json(&mut ws).await["type"], "connection_ack");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { events { id type subjectId } }" } });
    crate::websocket::send(&mut ws, subscribe).await;
    crate::websocket::wait_for_subscribers(&app, 1).await;
    let after = remaining(&app.get("/v2/agents").await);
    assert!(before - after > 3, "the subscription start cost its complexity: {before} → {after}");
    // Use the rest of the minute, then the clock jumps an hour back: nothing comes back early.
    while app.get("/v2/agents").await.status == 200 {}
    clock.advance(-3_600_000);
    let refused = app.get("/v2/agents").await;
    refused.assert_error(429, "rate_limited");
    clock.advance(3_600_000 + 1_000);
    assert_eq!(app.get("/v2/agents").await.status, 200, "back on time");
}
