//! Skills and memories, measured over real HTTP on loopback:
//!
//! 1. memory search latency over 100,000 memories of one agent (1,000 users), on SQLite (FTS5) and PostgreSQL
//!    (`tsvector` + GIN; skipped when PostgreSQL is unreachable): p50 / p95 / p99 / max of sequential
//!    `GET /v2/memories?agentId=…&q=…` requests, agent-wide and scoped to one user;
//! 2. the added latency of one tool round-trip: a non-streamed message answered directly vs. one where the model
//!    (echo, no token delay) first calls the calculator, and one calling a custom HTTP skill on loopback.
//!
//!   cargo bench --bench skills
//!   BENCH_MEMORIES=20000 BENCH_SEARCHES=300 cargo bench --bench skills
#![expect(clippy::unwrap_used, reason = "a benchmark that cannot set up should stop")]

use std::time::{Duration, Instant};

use chrono::Utc;
use openclaw::{app::AppState, config::Config};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set};
use serde_json::{Value, json};

#[path = "support/server.rs"]
mod server;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Server {
    base: String,
    key: String,
    account_id: String,
    state: AppState,
    client: reqwest::Client,
}

async fn serve(config: Config) -> Server {
    let server::BenchServer { state, addr, account_id, key } = server::start(config).await;
    Server { base: format!("http://{addr}"), key, account_id, state, client: reqwest::Client::new() }
}

impl Server {
    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        let response =
            self.client.get(format!("{}{path}", self.base)).header("x-api-key", &self.key).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  (n={})",
        ms(at(0.50)),
        ms(at(0.95)),
        ms(at(0.99)),
        ms(*samples.last().unwrap()),
        samples.len()
    )
}

/// A vocabulary of made-up words (so matches are selective, like names and facts) plus common ones.
fn vocabulary(rng: &mut StdRng) -> Vec<String> {
    let syllables = ["ka", "lo", "mi", "ren", "to", "sa", "vu", "ne", "dor", "li", "pa", "zu", "qui", "ber", "fa"];
    let mut words: Vec<String> = (0..4000)
        .map(|_| (0..rng.random_range(2..4)).map(|_| syllables[rng.random_range(0..syllables.len())]).collect())
        .collect();
    words.extend(
        [
            "likes", "prefers", "coffee", "tea", "meeting", "allergic", "birthday", "project", "deadline", "travel",
            "office", "family",
        ]
        .map(str::to_owned),
    );
    words
}

async fn memory_search(label: &str, database_url: String, memories: usize, searches: usize) {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(Config {
        database_url,
        storage_dir: dir.path().display().to_string(),
        bootstrap_account: false,
        limits_enabled: false,
        task_workers: 0,
        ..Config::default()
    })
    .await;
    let agent = server
        .post(
            "/v2/agents",
            json!({ "name": "bench", "model": "echo", "memory": { "enabled": true, "retention": "30d" } }),
        )
        .await;
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    let account_id = server.account_id.clone();
    let mut rng = StdRng::seed_from_u64(7);
    let words = vocabulary(&mut rng);
    let started = Instant::now();
    let now = Utc::now();
    let expires = now + chrono::Duration::days(30);
    for batch in 0..memories.div_ceil(500) {
        let rows: Vec<entity::memory::ActiveModel> = (0..500.min(memories - batch * 500))
            .map(|_| {
                let content: Vec<&str> =
                    (0..rng.random_range(6..14)).map(|_| words[rng.random_range(0..words.len())].as_str()).collect();
                entity::memory::ActiveModel {
                    id: Set(openclaw::ids::new_id("mem")),
                    account_id: Set(account_id.clone()),
                    agent_id: Set(agent_id.clone()),
                    user_id: Set(Some(format!("user-{}", rng.random_range(0..1000)))),
                    content: Set(content.join(" ")),
                    kind: Set("fact".into()),
                    metadata: Set(json!({})),
                    conversation_id: Set(None),
                    message_id: Set(None),
                    embedding: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    expires_at: Set(Some(expires)),
                }
            })
            .collect();
        entity::memory::Entity::insert_many(rows).exec(&server.state.db).await.unwrap();
    }
    // What autovacuum does soon after a bulk load: without statistics PostgreSQL cannot tell that a word matches
    // few rows and scans the agent's whole index range instead of the GIN index.
    server.state.db.execute_unprepared("ANALYZE memories").await.unwrap();
    println!("{label}: {memories} memories stored in {:.1} s", started.elapsed().as_secs_f64());
    for scoped in [false, true] {
        let mut samples = Vec::with_capacity(searches);
        let mut hits = 0usize;
        for i in 0..searches {
            let q: Vec<&str> = (0..3).map(|_| words[rng.random_range(0..words.len())].as_str()).collect();
            let user = if scoped { format!("&userId=user-{}", i % 1000) } else { String::new() };
            let path = format!("/v2/memories?agentId={agent_id}&q={}&limit=10{user}", q.join("+"));
            let started = Instant::now();
            let body = server.get(&path).await;
            samples.push(started.elapsed());
            hits += body["memories"].as_array().unwrap().len();
        }
        let scope = if scoped { "one user" } else { "agent-wide" };
        println!(
            "{label}: search ({scope:>10}) {}  avg hits {:.1}",
            percentiles(samples),
            hits as f64 / searches as f64
        );
    }
}

async fn tool_round_trip(rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(Config {
        database_url: format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()),
        storage_dir: dir.path().display().to_string(),
        bootstrap_account: false,
        limits_enabled: false,
        echo_token_delay_ms: 0,
        outbound_allowlist: "127.0.0.1/32".into(),
        task_workers: 0,
        ..Config::default()
    })
    .await;
    // A custom skill endpoint on loopback answering at once.
    let router =
        axum::Router::new().route("/skill", axum::routing::post(|| async { axum::Json(json!({ "ok": true })) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/skill", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let custom = server
        .post("/v2/skills", json!({ "name": "ping", "description": "answers ok", "parameters": { "type": "object" }, "endpoint": endpoint }))
        .await;
    let custom_id = custom["skill"]["id"].as_str().unwrap().to_owned();
    let agent = server
        .post("/v2/agents", json!({ "name": "tools", "model": "echo", "skills": ["calculator", custom_id] }))
        .await;
    let conversation = server.post("/v2/conversations", json!({ "agentId": agent["id"] })).await;
    let path = format!("/v2/conversations/{}/messages", conversation["id"].as_str().unwrap());
    let custom_tool = custom_id.replace('-', "_");
    let cases = [
        ("no tool", "what is 2+2".to_owned()),
        ("calculator", "what is 2+2\n/tool calculator {\"expression\": \"2+2\"}".to_owned()),
        ("custom HTTP skill", format!("ping\n/tool {custom_tool} {{}}")),
    ];
    // Interleaved, so drift (the history grows, the database warms) hits every case alike.
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (i, (_, content)) in cases.iter().enumerate() {
            let started = Instant::now();
            let sent = server.post(&path, json!({ "content": content })).await;
            samples[i].push(started.elapsed());
            assert_eq!(sent["reply"]["status"], "completed");
        }
    }
    let median = |s: &[Duration]| {
        let mut s = s.to_vec();
        s.sort();
        s[s.len() / 2]
    };
    let base = median(&samples[0]);
    for ((label, _), s) in cases.iter().zip(&samples) {
        let added = median(s).as_secs_f64() * 1000.0 - base.as_secs_f64() * 1000.0;
        println!("message ({label:>17}): {}  added vs no tool: {added:+.2} ms (median)", percentiles(s.clone()));
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let memories = env("BENCH_MEMORIES", 100_000);
        let searches = env("BENCH_SEARCHES", 1000);
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("memories.db").display());
        memory_search("SQLite    ", sqlite, memories, searches).await;
        let admin_url = std::env::var("OPENCLAW_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        match Database::connect(&admin_url).await {
            Ok(admin) => {
                let name = format!("openclaw_bench_{}", uuid::Uuid::new_v4().simple());
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
                let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
                memory_search("PostgreSQL", url, memories, searches).await;
                let _ = admin.execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await;
            }
            Err(err) => println!("PostgreSQL: skipped ({err})"),
        }
        tool_round_trip(env("BENCH_TOOL_ROUNDS", 200)).await;
    });
}
