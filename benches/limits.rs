//! What the limiter costs: REST read throughput (`GET /v2/agents/{id}`) with limits off, on in-process, and on
//! through Redis (127.0.0.1:6379, or BENCH_REDIS_URL). Three servers share one database and one key; the limits
//! are set so high that nothing is refused, so every request pays for the whole check (key lookup, concurrency
//! slot taken and freed, a GCRA step, headers) and nothing else changes. Runs are interleaved (off, in-process,
//! Redis, off, …) so that a noisy neighbour hits all three alike; the median run of each is reported.
//!
//!   cargo bench --bench limits
//!   BENCH_SECONDS=5 BENCH_RUNS=5 BENCH_CONNECTIONS=128 cargo bench --bench limits
#![expect(clippy::unwrap_used, reason = "a benchmark that cannot set up should stop")]

#[path = "support/http_load.rs"]
mod http_load;

use http_load::{Scenario, drive, env_or, percentile};
use openclaw::{
    app::{self, AppState},
    auth::Plan,
    config::Config,
    services,
};
use serde_json::json;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn start(config: Config) -> (AppState, std::net::SocketAddr) {
    let state = AppState::build(config).await.unwrap();
    let router = app::build_router(state.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(app::run(listener, router, std::future::pending()));
    (state, addr)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let database_url = std::env::var("BENCH_DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()));
        let redis_url = std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let seconds = env_or("BENCH_SECONDS", 3u64);
        let connections = env_or("BENCH_CONNECTIONS", 32usize);
        let runs = env_or("BENCH_RUNS", 3usize).max(1);
        let mut base = Config { database_url: database_url.clone(), bootstrap_account: false, ..Config::default() };
        // Limits that never refuse: every request is checked in full and passes.
        base.plans.pro.requests_per_minute = Some(1_000_000_000);
        base.plans.pro.concurrent_requests = Some(100_000);
        let off = Config { limits_enabled: false, ..base.clone() };
        let in_process = base.clone();
        let redis = Config {
            redis_url: Some(redis_url),
            redis_key_prefix: format!("openclaw-bench-{}:", uuid::Uuid::new_v4().simple()),
            ..base.clone()
        };
        let (state, off_addr) = start(off).await;
        let (_, memory_addr) = start(in_process).await;
        let (redis_state, redis_addr) = start(redis).await;
        let account =
            services::accounts::find_or_create(&state.db, &format!("bench-{}", uuid::Uuid::new_v4()), Plan::Pro).await.unwrap();
        let (_, key) = services::accounts::create_key(&state.db, &account.id, None, vec!["*".into()]).await.unwrap();
        let agent: serde_json::Value = reqwest::Client::new()
            .post(format!("http://{off_addr}/v2/agents"))
            .header("x-api-key", &key)
            .json(&json!({"name": "bench", "model": "gpt-4", "skills": ["knowledge-base"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let scenario = Scenario {
            name: "REST GET /v2/agents/{id}",
            method: hyper::Method::GET,
            path: format!("/v2/agents/{}", agent["id"].as_str().unwrap()),
            body: None,
        };
        let backend = if database_url.starts_with("postgres") { "postgresql" } else { "sqlite" };
        println!(
            "openclaw limiter benchmark — {} on {backend}, {connections} keep-alive connections, {seconds}s × {runs} runs each, {} cores",
            scenario.name,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        let targets = [("limits off", off_addr), ("limits on, in-process", memory_addr), ("limits on, Redis", redis_addr)];
        for (_, addr) in targets {
            drive(addr, &key, &scenario, connections, 1).await;
        }
        let mut results: Vec<Vec<(usize, f64, f64, usize)>> = vec![Vec::new(); targets.len()];
        for _ in 0..runs {
            for (i, (_, addr)) in targets.iter().enumerate() {
                let (count, mut latencies, errors) = drive(*addr, &key, &scenario, connections, seconds).await;
                latencies.sort_unstable();
                results[i].push((count, percentile(&latencies, 0.50), percentile(&latencies, 0.99), errors));
            }
        }
        let mut medians = Vec::new();
        for (i, (name, _)) in targets.iter().enumerate() {
            results[i].sort_by_key(|r| r.0);
            let (count, p50, p99, errors) = results[i][results[i].len() / 2];
            let rate = count as f64 / seconds as f64;
            medians.push(rate);
            println!("{name:<24} {rate:>9.0} req/s   p50 {p50:>7.2} ms   p99 {p99:>7.2} ms   errors {errors}");
        }
        for (i, target) in [(1, "in-process"), (2, "Redis")] {
            let loss = (1.0 - medians[i] / medians[0]) * 100.0;
            println!("cost of limits, {target:<11} {:.3}× throughput ({loss:+.1}% loss)", medians[i] / medians[0]);
        }
        println!("Redis store errors during the run: {}", redis_state.limiter.store_errors());
    });
}
