//! The skills that reach outside the run: custom HTTP skills (registered per account, private, installable,
//! invoked signed like webhooks, with every endpoint failure returned to the model), `ticket-system` (tickets
//! stored per account, listed by the API, `ticket.created` delivered by webhook), `http-request` (allow-listed
//! hosts and methods behind the SSRF guard) and `web-search` (a SearXNG JSON API, or "not configured").
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::HeaderMap,
    routing::{get, post},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    chat::until_done,
    db_tests,
    helpers::{Backend, TestApp, spawn_app_with},
    receiver::{Received, Receiver, verify},
    tools::{of_kind, tool_conversation},
};
use openclaw::auth::Plan;

db_tests!(
    custom_skills_are_private_installable_and_invoked_signed,
    custom_skill_endpoint_failures_go_back_to_the_model,
    the_ticket_system_stores_lists_and_announces_tickets,
    http_request_reaches_only_allowed_hosts_and_methods,
    web_search_uses_the_configured_backend_or_says_it_has_none,
);

/// A skill endpoint (and a plain API): `/weather` answers JSON from the arguments, `/fail` 500, `/garbage` text,
/// `/hang` nothing for a minute, `/big` two megabytes; every POST is recorded.
#[derive(Clone, Default)]
struct Endpoint {
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Endpoint {
    async fn start() -> (Self, String) {
        let endpoint = Self::default();
        let record = |state: &Endpoint, headers: HeaderMap, body: String, path: &str| {
            state.seen.lock().unwrap().push(Received { path: path.to_owned(), headers, body });
        };
        let router = Router::new()
            .route("/weather", post(move |State(s): State<Endpoint>, h: HeaderMap, body: String| async move {
                record(&s, h, body.clone(), "/weather");
                let city = serde_json::from_str::<Value>(&body).unwrap()["arguments"]["city"].clone();
                Json(json!({ "city": city, "temperatureC": 21 }))
            }))
            .route("/fail", post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "database on fire") }))
            .route("/garbage", post(|| async { "<html>not json</html>" }))
            .route("/hang", post(|| async { tokio::time::sleep(Duration::from_secs(60)).await; "late" }))
            .route("/big", get(|| async { "x".repeat(2 * 1024 * 1024) }))
            .route("/moved", get(|| async { (StatusCode::FOUND, [("location", "/api/items")], "") }))
            .route("/api/items", get(|| async { Json(json!({ "items": [1, 2, 3] })) }).post(|body: String| async move {
                (StatusCode::CREATED, Json(json!({ "created": serde_json::from_str::<Value>(&body).unwrap() })))
            }))
            .route("/search", get(|axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                if q.get("format").map(String::as_str) != Some("json") {
                    return Json(json!({ "error": "format" }));
                }
                let query = q.get("q").cloned().unwrap_or_default();
                Json(json!({ "query": query, "results": [
                    { "title": format!("About {query}"), "url": "https://example.org/a", "content": "First snippet", "engine": "x" },
                    { "title": "Second", "url": "https://example.org/b", "content": "Second snippet" },
                    { "title": "Third", "url": "https://example.org/c", "content": "Third snippet" }
                ] }))
            }))
            .with_state(endpoint.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (endpoint, format!("http://{addr}"))
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

async fn call_tool(app: &TestApp, conversation: &str, tool: &str, arguments: Value) -> Value {
    let content = format!("/tool {tool} {arguments}");
    let events = until_done(&mut app.stream_message(conversation, &content).await).await;
    of_kind(&events, "tool.result")[0].clone()
}

fn weather_skill(endpoint: &str) -> Value {
    json!({
        "name": "Weather Lookup",
        "description": "Current temperature in a city.",
        "version": "1.2.0",
        "parameters": { "type": "object", "properties": { "city": { "type": "string", "minLength": 1 } }, "required": ["city"], "additionalProperties": false },
        "endpoint": endpoint
    })
}

async fn custom_skills_are_private_installable_and_invoked_signed(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (endpoint, base) = Endpoint::start().await;
    let registered = app.post("/v2/skills", weather_skill(&format!("{base}/weather"))).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text);
    let skill = &registered.body["skill"];
    let id = skill["id"].as_str().unwrap().to_owned();
    let secret = registered.body["secret"].as_str().unwrap().to_owned();
    assert!(id.starts_with("custom-weather-lookup-"), "{id}");
    assert!(secret.starts_with("whsec_"));
    assert_eq!(skill["custom"], true);
    let tool = id.replace('-', "_");
    assert_eq!(skill["tools"], json!([tool]));
    assert_eq!(skill["version"], "1.2.0");
    // Listed for its owner only.
    let mine = app.get("/v2/skills?category=custom").await;
    assert_eq!(mine.body["skills"][0]["id"], id.as_str(), "{}", mine.text);
    let stranger = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    let theirs = app.send(Method::GET, "/v2/skills?category=custom", Some(&stranger), None).await;
    assert_eq!(theirs.body["pagination"]["total"], 0);
    app.send(Method::GET, &format!("/v2/skills/{id}"), Some(&stranger), None).await.assert_error(404, "not_found");
    let foreign_agent = app
        .send(
            Method::POST,
            "/v2/agents",
            Some(&stranger),
            Some(json!({ "name": "b", "model": "echo", "skills": [id] })),
        )
        .await;
    foreign_agent.assert_error(400, "validation_error");
    app.send(Method::DELETE, &format!("/v2/skills/{id}"), Some(&stranger), None).await.assert_error(404, "not_found");
    // The catalog shows which skills offer tools.
    let calculator = app.get("/v2/skills/calculator").await;
    assert_eq!(calculator.body["tools"], json!(["calculator"]));
    assert_eq!(calculator.body["custom"], false);
    assert_eq!(
        app.get("/v2/skills/weather").await.body["tools"],
        json!([]),
        "catalog entries without an implementation offer none"
    );

    // Installed like any skill (skill.installed fires), and invoked signed like a webhook.
    let (agent_id, conversation) = tool_conversation(&app, &[]).await;
    let install = app
        .post(&format!("/v2/agents/{agent_id}/skills"), json!({ "skillId": id, "config": { "units": "metric" } }))
        .await;
    assert_eq!(install.status, StatusCode::CREATED, "{}", install.text);
    let events = app.get("/v2/events?type=skill.installed").await;
    assert!(events.text.contains(&id), "{}", events.text);
    let result = call_tool(&app, &conversation, &tool, json!({ "city": "Lyon" })).await;
    assert_eq!(result["result"], json!({ "city": "Lyon", "temperatureC": 21 }), "{result}");
    let seen = endpoint.seen();
    assert_eq!(seen.len(), 1);
    verify(&seen[0], &secret);
    assert_eq!(seen[0].header("x-openclaw-event"), "skill.invoke");
    let invocation = seen[0].json();
    assert_eq!(invocation["arguments"], json!({ "city": "Lyon" }));
    assert_eq!(invocation["config"], json!({ "units": "metric" }));
    assert_eq!(invocation["agentId"], agent_id.as_str());
    assert_eq!(invocation["conversationId"], conversation.as_str());

    // Arguments that break the schema never reach the endpoint.
    let bad = call_tool(&app, &conversation, &tool, json!({ "city": "" })).await;
    assert_eq!(bad["error"]["code"], "invalid_arguments", "{bad}");
    let extra = call_tool(&app, &conversation, &tool, json!({ "city": "Paris", "x": 1 })).await;
    assert_eq!(extra["error"]["code"], "invalid_arguments", "{extra}");
    assert_eq!(endpoint.seen().len(), 1);

    // Registration refuses what cannot work.
    for (body, field) in [
        (
            json!({ "name": "x", "description": "d", "parameters": { "type": "string" }, "endpoint": format!("{base}/weather") }),
            "parameters",
        ),
        (
            json!({ "name": "x", "description": "d", "parameters": { "type": "object", "properties": 3 }, "endpoint": format!("{base}/weather") }),
            "parameters",
        ),
        (
            json!({ "name": "x", "description": "d", "parameters": { "type": "object" }, "endpoint": "http://169.254.169.254/latest" }),
            "endpoint",
        ),
        (
            json!({ "name": "x", "description": "", "parameters": { "type": "object" }, "endpoint": format!("{base}/weather") }),
            "description",
        ),
        (
            json!({ "name": "x", "description": "d", "version": "v1", "parameters": { "type": "object" }, "endpoint": format!("{base}/weather") }),
            "version",
        ),
        (
            json!({ "name": "", "description": "d", "parameters": { "type": "object" }, "endpoint": format!("{base}/weather") }),
            "name",
        ),
    ] {
        let refused = app.post("/v2/skills", body).await;
        refused.assert_error(400, "validation_error");
        assert_eq!(refused.field(), field, "{}", refused.text);
    }
    let reader = app.create_key("tenant-a", Plan::Free, &["skills:read"]).await;
    app.send(Method::POST, "/v2/skills", Some(&reader), Some(weather_skill(&format!("{base}/weather"))))
        .await
        .assert_error(403, "forbidden");

    // Deleting it uninstalls it; catalog skills cannot be deleted.
    app.delete("/v2/skills/calculator").await.assert_error(404, "not_found");
    assert_eq!(app.delete(&format!("/v2/skills/{id}")).await.status, StatusCode::NO_CONTENT);
    let agent = app.get(&format!("/v2/agents/{agent_id}")).await;
    assert_eq!(agent.body["skills"], json!([]), "{}", agent.text);
    let gone = call_tool(&app, &conversation, &tool, json!({ "city": "Lyon" })).await;
    assert_eq!(gone["error"]["code"], "unknown_tool");
}

async fn custom_skill_endpoint_failures_go_back_to_the_model(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.echo_token_delay_ms = 0;
        config.tool_timeout_ms = 500;
    })
    .await;
    let (_, base) = Endpoint::start().await;
    let (agent_id, conversation) = tool_conversation(&app, &[]).await;
    for (path, code, message) in [
        ("/fail", "tool_failed", "HTTP 500: database on fire"),
        ("/garbage", "tool_failed", "did not answer JSON"),
        ("/hang", "tool_timeout", "500 ms"),
        ("/nothing-here", "tool_failed", "HTTP 404"),
    ] {
        let mut body = weather_skill(&format!("{base}{path}"));
        body["parameters"] = json!({ "type": "object" });
        let registered = app.post("/v2/skills", body).await;
        let id = registered.body["skill"]["id"].as_str().unwrap().to_owned();
        let install = app.post(&format!("/v2/agents/{agent_id}/skills"), json!({ "skillId": id })).await;
        assert_eq!(install.status, StatusCode::CREATED, "{}", install.text);
        let started = std::time::Instant::now();
        let result = call_tool(&app, &conversation, &id.replace('-', "_"), json!({})).await;
        assert_eq!(result["error"]["code"], code, "{path}: {result}");
        assert!(result["error"]["message"].as_str().unwrap().contains(message), "{path}: {result}");
        assert!(started.elapsed() < Duration::from_secs(10), "bounded: {path}");
    }
    // The conversation and the server carry on.
    let ok = app.post(&format!("/v2/conversations/{conversation}/messages"), json!({ "content": "still fine?" })).await;
    assert_eq!(ok.body["reply"]["status"], "completed", "{}", ok.text);
}

async fn the_ticket_system_stores_lists_and_announces_tickets(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let receiver = Receiver::start().await;
    let hook = app
        .post(
            "/v2/webhooks",
            json!({ "url": receiver.url("/hooks"), "events": ["ticket.created"], "secret": "s3cret-s3cret" }),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text);
    let (agent_id, conversation) = tool_conversation(
        &app,
        &[("ticket-system", json!({ "provider": "builtin", "project": "SUP", "defaultPriority": "high" }))],
    )
    .await;
    let created = call_tool(
        &app,
        &conversation,
        "ticket_create",
        json!({ "title": "Refund button broken", "description": "User cannot refund order 42" }),
    )
    .await;
    let ticket_id = created["result"]["ticketId"].as_str().unwrap().to_owned();
    assert!(ticket_id.starts_with("tkt-"), "{created}");
    assert_eq!(created["result"]["priority"], "high", "the install's default priority");
    let listed = app.get("/v2/tickets").await;
    assert_eq!(listed.body["pagination"]["total"], 1);
    let ticket = &listed.body["tickets"][0];
    assert_eq!(ticket["title"], "Refund button broken");
    assert_eq!(ticket["project"], "SUP");
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["agentId"], agent_id.as_str());
    assert_eq!(ticket["conversationId"], conversation.as_str());
    let delivered = receiver.wait_for(1, Duration::from_secs(10)).await;
    verify(&delivered[0], "s3cret-s3cret");
    assert_eq!(delivered[0].json()["type"], "ticket.created");
    assert_eq!(delivered[0].json()["data"]["ticketId"], ticket_id.as_str());
    // The model can look it up; the API can move it along.
    let looked = call_tool(&app, &conversation, "ticket_get", json!({ "ticketId": ticket_id })).await;
    assert_eq!(looked["result"]["status"], "open");
    let resolved = app.patch(&format!("/v2/tickets/{ticket_id}"), json!({ "status": "resolved" })).await;
    assert_eq!(resolved.body["status"], "resolved", "{}", resolved.text);
    app.patch(&format!("/v2/tickets/{ticket_id}"), json!({ "status": "lost" }))
        .await
        .assert_error(400, "validation_error");
    assert_eq!(app.get("/v2/tickets?status=resolved").await.body["pagination"]["total"], 1);
    let stranger = app.create_key("tenant-b", Plan::Free, &["*"]).await;
    app.send(Method::GET, &format!("/v2/tickets/{ticket_id}"), Some(&stranger), None)
        .await
        .assert_error(404, "not_found");
    // Bad arguments and unconnected providers are the model's errors.
    let untitled = call_tool(&app, &conversation, "ticket_create", json!({ "title": " " })).await;
    assert_eq!(untitled["error"]["code"], "invalid_arguments", "{untitled}");
    let missing = call_tool(&app, &conversation, "ticket_get", json!({ "ticketId": "tkt-nope" })).await;
    assert_eq!(missing["error"]["code"], "tool_failed");
    let (_, jira) = tool_conversation(&app, &[("ticket-system", json!({ "provider": "jira", "project": "X" }))]).await;
    let unconnected = call_tool(&app, &jira, "ticket_create", json!({ "title": "x" })).await;
    assert_eq!(unconnected["error"]["code"], "tool_unavailable", "{unconnected}");
    assert_eq!(app.get("/v2/tickets").await.body["pagination"]["total"], 1, "nothing else was stored");
}

async fn http_request_reaches_only_allowed_hosts_and_methods(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (_, base) = Endpoint::start().await;
    let config = json!({ "allowedHosts": ["127.0.0.1"], "methods": ["GET", "POST"], "timeoutMs": 2000 });
    let (_, conversation) = tool_conversation(&app, &[("http-request", config)]).await;
    let got = call_tool(&app, &conversation, "http_request", json!({ "url": format!("{base}/api/items") })).await;
    assert_eq!(got["result"]["status"], 200, "{got}");
    assert_eq!(got["result"]["body"], json!({ "items": [1, 2, 3] }));
    let posted = call_tool(
        &app,
        &conversation,
        "http_request",
        json!({ "url": format!("{base}/api/items"), "method": "POST", "body": { "name": "kettle" } }),
    )
    .await;
    assert_eq!(posted["result"]["status"], 201, "{posted}");
    assert_eq!(posted["result"]["body"]["created"], json!({ "name": "kettle" }));
    // A redirect could leave the allowed hosts: it is the model's to see, not followed.
    let moved = call_tool(&app, &conversation, "http_request", json!({ "url": format!("{base}/moved") })).await;
    assert_eq!(moved["result"]["status"], 302, "{moved}");
    let not_found = call_tool(&app, &conversation, "http_request", json!({ "url": format!("{base}/nope") })).await;
    assert_eq!(not_found["result"]["status"], 404, "error statuses are results: {not_found}");
    for (arguments, code) in [
        (json!({ "url": format!("{base}/api/items"), "method": "DELETE" }), "invalid_arguments"),
        (json!({ "url": base.replace("127.0.0.1", "localhost") + "/api/items" }), "invalid_arguments"),
        (json!({ "url": "http://169.254.169.254/latest/meta-data" }), "invalid_arguments"),
        (json!({ "url": "not a url" }), "invalid_arguments"),
        (json!({ "url": format!("{base}/big") }), "tool_failed"),
    ] {
        let refused = call_tool(&app, &conversation, "http_request", arguments.clone()).await;
        assert_eq!(refused["error"]["code"], code, "{arguments}: {refused}");
    }
    // No allowed hosts: nothing is reachable.
    let (_, closed) = tool_conversation(&app, &[("http-request", json!({}))]).await;
    let refused = call_tool(&app, &closed, "http_request", json!({ "url": format!("{base}/api/items") })).await;
    assert_eq!(refused["error"]["code"], "invalid_arguments");
}

async fn web_search_uses_the_configured_backend_or_says_it_has_none(backend: Backend) {
    let (_, base) = Endpoint::start().await;
    let unconfigured = spawn_app_with(backend, |config| config.echo_token_delay_ms = 0).await;
    let (_, conversation) = tool_conversation(&unconfigured, &[("web-search", json!({}))]).await;
    let none = call_tool(&unconfigured, &conversation, "web_search", json!({ "query": "rust" })).await;
    assert_eq!(none["error"]["code"], "tool_unavailable", "{none}");
    assert!(none["error"]["message"].as_str().unwrap().contains("not configured"));

    let searx = base.clone();
    let app = spawn_app_with(backend, move |config| {
        config.echo_token_delay_ms = 0;
        config.web_search_backend = "searxng".into();
        config.web_search_url = Some(searx);
    })
    .await;
    let (_, conversation) =
        tool_conversation(&app, &[("web-search", json!({ "provider": "searxng", "maxResults": 2 }))]).await;
    let found = call_tool(&app, &conversation, "web_search", json!({ "query": "openclaw server" })).await;
    let results = found["result"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "maxResults: {found}");
    assert_eq!(
        results[0],
        json!({ "title": "About openclaw server", "url": "https://example.org/a", "snippet": "First snippet" })
    );
    let empty = call_tool(&app, &conversation, "web_search", json!({ "query": "  " })).await;
    assert_eq!(empty["error"]["code"], "invalid_arguments");

    let broken = base.clone() + "/nowhere";
    let failing = spawn_app_with(backend, move |config| {
        config.echo_token_delay_ms = 0;
        config.web_search_backend = "searxng".into();
        config.web_search_url = Some(broken);
    })
    .await;
    let (_, conversation) = tool_conversation(&failing, &[("web-search", json!({}))]).await;
    let failed = call_tool(&failing, &conversation, "web_search", json!({ "query": "x" })).await;
    assert_eq!(failed["error"]["code"], "tool_failed", "{failed}");
}
