//! The GraphQL API itself: queries, mutations, limits, errors, batching, and the committed SDL.
use openclaw::auth::Plan;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, read, spawn_app, spawn_app_with};

const AGENT_PAGE: &str =
    "query { agents(limit: 100) { agents { id name skills { id version config } } pagination { total } } }";

async fn create_and_read_agents_through_graphql(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .graphql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id model { provider name } skills { id } memory { enabled } } }",
            json!({"input": crate::helpers::seed_agent_body()}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert!(created.body.get("errors").is_none(), "{}", created.text);
    let id = created.body["data"]["createAgent"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["data"]["createAgent"]["model"], json!({"provider": "openai", "name": "gpt-4"}));

    let fetched = app
        .graphql("query($id: ID!) { agent(id: $id) { name skills { id } } viewer { plan } }", json!({"id": id}))
        .await;
    assert_eq!(fetched.body["data"]["agent"]["name"], "客服助手");
    assert_eq!(fetched.body["data"]["agent"]["skills"], json!([{"id": "knowledge-base"}, {"id": "ticket-system"}]));
    assert_eq!(fetched.body["data"]["viewer"]["plan"], "FREE");

    let via_get = read(
        app.client
            .get(app.url("/v2/graphql"))
            .query(&[
                ("query", "query($id: ID!) { agent(id: $id) { name } }"),
                ("variables", &json!({"id": id}).to_string()),
            ])
            .header("X-API-Key", &app.key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(via_get.body["data"]["agent"]["name"], "客服助手", "{}", via_get.text);

    let mutation_via_get = read(
        app.client
            .get(app.url("/v2/graphql"))
            .query(&[("query", "mutation { deleteAgent(id: \"x\") { id } }")])
            .header("X-API-Key", &app.key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(mutation_via_get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation_via_get.headers["allow"], "POST");
}

async fn errors_carry_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.seed_agent().await;
    let other = app.create_key("tenant-b", Plan::Free, &["*"]).await;

    let foreign = app.graphql_as(&other, "query($id: ID!) { agent(id: $id) { name } }", json!({"id": id})).await;
    assert_eq!(foreign.body["data"]["agent"], json!(null), "{}", foreign.text);
    assert_eq!(foreign.body["errors"][0]["extensions"]["code"], "not_found");

    let syntax = app.graphql("query { agents { ", json!({})).await;
    assert_eq!(syntax.status, StatusCode::BAD_REQUEST);
    assert!(syntax.body.get("data").is_none(), "no data entry on a request error: {}", syntax.text);
    assert_eq!(syntax.body["errors"][0]["extensions"]["code"], "graphql_parse_error");

    let unknown = app.graphql("query { nope }", json!({})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.body["errors"][0]["extensions"]["code"], "graphql_validation_error");

    let deep = format!(
        "query {{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType {".repeat(12),
        "}".repeat(12)
    );
    let too_deep = app.graphql(&deep, json!({})).await;
    assert_eq!(too_deep.status, StatusCode::BAD_REQUEST, "{}", too_deep.text);
    assert_eq!(too_deep.body["errors"][0]["extensions"]["code"], "query_too_deep");

    let aliases: String = (0..20).map(|i| format!("a{i}: agents(limit: 100) {{ agents {{ id name }} }} ")).collect();
    let too_complex = app.graphql(&format!("query {{ {aliases} }}"), json!({})).await;
    assert_eq!(too_complex.status, StatusCode::BAD_REQUEST, "{}", too_complex.text);
    assert_eq!(too_complex.body["errors"][0]["extensions"]["code"], "query_too_complex");

    let bad_input = app
        .graphql("mutation { createAgent(input: {name: \"x\", settings: {temperature: 9}}) { id } }", json!({}))
        .await;
    assert_eq!(bad_input.body["errors"][0]["extensions"]["code"], "validation_error", "{}", bad_input.text);
    assert_eq!(bad_input.body["errors"][0]["extensions"]["details"]["field"], "settings.temperature");

    let reader = app.create_key("tenant-a", Plan::Free, &["agents:read"]).await;
    let denied = app.graphql_as(&reader, "mutation { createAgent(input: {name: \"x\"}) { id } }", json!({})).await;
    assert_eq!(denied.body["errors"][0]["extensions"]["code"], "forbidden", "{}", denied.text);
    assert_eq!(app.get("/v2/agents").await.body["pagination"]["total"], 1);
}

async fn agent_pages_load_skills_in_one_batched_query(backend: Backend) {
    // The query counter is the whole pool's: the background workers' polling must not add to it here.
    let app = spawn_app_with(backend, |config| {
        config.task_workers = 0;
        config.webhook_poll_ms = 3_600_000;
    })
    .await;
    let queries_for_page = || async {
        let before = app.state.queries.get();
        let page = app.graphql(AGENT_PAGE, json!({})).await;
        assert!(page.body.get("errors").is_none(), "{}", page.text);
        (app.state.queries.get() - before, page.body["data"]["agents"]["pagination"]["total"].as_u64().unwrap())
    };
    for _ in 0..2 {
        app.seed_agent().await;
    }
    let (small, total_small) = queries_for_page().await;
    for _ in 0..10 {
        app.seed_agent().await;
    }
    let (large, total_large) = queries_for_page().await;

    assert_eq!((total_small, total_large), (2, 12));

    // A single agent's skills come with the agent in one query (the loader is primed), not in a second one.
    let id = app.get("/v2/agents?limit=1").await.body["agents"][0]["id"].as_str().unwrap().to_owned();
    let queries_for = |query: &'static str| {
        let (app, id) = (&app, id.clone());
        async move {
            let before = app.state.queries.get();
            let reply = app.graphql(query, json!({"id": id})).await;
            assert!(reply.body.get("errors").is_none(), "{}", reply.text);
            app.state.queries.get() - before
        }
    };
    let bare = queries_for("query($id: ID!) { agent(id: $id) { id } }").await;
    let with_skills = queries_for("query($id: ID!) { agent(id: $id) { id skills { id config } } }").await;
    assert_eq!(bare, with_skills, "skills of one agent must not cost another query");
    assert_eq!(
        small, large,
        "SQL queries for a page must not grow with its size ({small} for 2 agents, {large} for 12)"
    );
    assert!(large <= 6, "auth + count + page + one batched skills query, got {large}");
}

#[test]
fn committed_schema_matches_the_generated_sdl() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(
        committed,
        openclaw::graphql::schema::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

crate::db_tests!(
    create_and_read_agents_through_graphql,
    errors_carry_codes,
    agent_pages_load_skills_in_one_batched_query
);
