//! Webhook and task benchmark: starts the real server on loopback and prints figures (no thresholds).
//!
//!   cargo bench --bench webhooks                     # SQLite in a temp dir
//!   BENCH_DATABASE_URL=postgres://… cargo bench --bench webhooks
//!   BENCH_SUBSCRIPTIONS=100 BENCH_EVENTS=200 BENCH_TASKS=1000 BENCH_WORKERS=4 cargo bench --bench webhooks
//!
//! (a) Fan-out: BENCH_SUBSCRIPTIONS webhook endpoints (all on one local receiver) subscribe to
//!     `conversation.created`; BENCH_EVENTS conversations are created back to back over HTTP. Reported: deliveries/s
//!     and events/s from the first create to the last delivery, and per delivery the latency from the moment its
//!     create request was sent to the moment the receiver got the POST (the event is committed in between).
//!     Then BENCH_PACED_EVENTS (100) at BENCH_RATE (10) events/s, below capacity: the latency a steady load sees.
//! (b) Tasks: BENCH_TASKS `noop` tasks are queued while no worker runs, then a server with BENCH_WORKERS workers
//!     starts on the same database; reported: tasks/s from its start until the last one is stored `completed`.
#![expect(clippy::unwrap_used, reason = "a benchmark that cannot set up should stop")]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use openclaw::{app, app::AppState, auth::Plan, config::Config, services};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;

/// A receiver that only records which conversation each delivery is about and when it arrived.
async fn receiver() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    async fn record(State(arrivals): State<Arrivals>, body: Bytes) -> &'static str {
        let at = Instant::now();
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let conversation = value["data"]["conversationId"].as_str().unwrap_or_default().to_owned();
        arrivals.lock().unwrap().push((conversation, at));
        "ok"
    }
    let router = Router::new().route("/h/{n}", post(record)).with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, arrivals)
}

fn config(database_url: &str, workers: usize) -> Config {
    Config {
        database_url: database_url.to_owned(),
        bootstrap_account: false,
        outbound_allowlist: "127.0.0.1/32".into(),
        task_workers: workers,
        // One account's fan-out measures the sender's throughput: its endpoints and in-flight deliveries are not
        // capped below what the instance allows.
        webhook_max_endpoints_per_account: u64::MAX,
        webhook_account_concurrency: Config::default().webhook_concurrency,
        storage_dir: std::env::temp_dir().join("openclaw-bench-files").display().to_string(),
        ..Config::default()
    }
}

async fn serve(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app::run(listener, app::build_router(state).unwrap(), async move {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn key_for(state: &AppState) -> (String, String) {
    let name = format!("bench-{}", uuid::Uuid::new_v4());
    let account = services::accounts::find_or_create(&state.db, &name, Plan::Enterprise).await.unwrap();
    let (_, key) = services::accounts::create_key(&state.db, &account.id, None, vec!["*".into()]).await.unwrap();
    (account.id, key)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// `events` conversations created back to back (`rate` 0) or at `rate` per second.
async fn fanout(database_url: &str, events: usize, rate: f64) {
    let subscriptions = env_or("BENCH_SUBSCRIPTIONS", 100usize);
    let state = AppState::build(config(database_url, 0)).await.unwrap();
    let (_, key) = key_for(&state).await;
    let (base, stop) = serve(state).await;
    let (receiver_base, arrivals) = receiver().await;
    let http = reqwest::Client::new();
    let post =
        |path: &str, body: Value| http.post(format!("{base}{path}")).header("x-api-key", &key).json(&body).send();
    for n in 0..subscriptions {
        let hook = post(
            "/v2/webhooks",
            json!({ "url": format!("{receiver_base}/h/{n}"), "events": ["conversation.created"] }),
        );
        assert_eq!(hook.await.unwrap().status(), 201);
    }
    let agent: Value =
        post("/v2/agents", json!({ "name": "bench", "model": "echo" })).await.unwrap().json().await.unwrap();
    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    let started = Instant::now();
    for n in 0..events {
        if rate > 0.0 {
            let due = started + Duration::from_secs_f64(n as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let at = Instant::now();
        let created: Value =
            post("/v2/conversations", json!({ "agentId": agent["id"] })).await.unwrap().json().await.unwrap();
        sent_at.insert(created["id"].as_str().unwrap().to_owned(), at);
    }
    let created_in = started.elapsed();
    let expected = subscriptions * events;
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().unwrap().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arrivals = arrivals.lock().unwrap().clone();
    let last = arrivals.iter().map(|(_, at)| *at).max().unwrap_or(started);
    let elapsed = last - started;
    let mut latencies: Vec<Duration> = arrivals
        .iter()
        .filter_map(|(id, at)| sent_at.get(id).map(|sent| at.saturating_duration_since(*sent)))
        .collect();
    latencies.sort();
    let pace = if rate > 0.0 { format!("{rate} events/s") } else { "back to back".to_owned() };
    println!(
        "\n(a) webhook fan-out — {subscriptions} subscriptions, {events} events {pace}, {expected} deliveries expected"
    );
    println!("  delivered                 {} of {expected}", arrivals.len());
    println!(
        "  events created in         {:.2} s ({:.0} events/s over HTTP)",
        created_in.as_secs_f64(),
        events as f64 / created_in.as_secs_f64()
    );
    println!("  first create → last POST  {:.2} s", elapsed.as_secs_f64());
    println!("  deliveries/s              {:.0}", arrivals.len() as f64 / elapsed.as_secs_f64());
    println!("  events/s fully fanned out {:.1}", events as f64 / elapsed.as_secs_f64());
    println!(
        "  event → delivery (ms)     p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    let _ = stop.send(());
}

async fn tasks(database_url: &str) {
    let (count, workers) = (env_or("BENCH_TASKS", 1000usize), env_or("BENCH_WORKERS", 4usize));
    // Queue everything while no worker runs, so the figure is the queue's, not the API's.
    let queueing = AppState::build(config(database_url, 0)).await.unwrap();
    let (account_id, _) = key_for(&queueing).await;
    let new = || services::tasks::NewTask { kind: "noop".into(), input: json!({}), ..Default::default() };
    for _ in 0..count {
        services::tasks::create(&queueing.db, &queueing.outbound, &account_id, new(), 3, 600).await.unwrap();
    }
    let started = Instant::now();
    let running = AppState::build(config(database_url, workers)).await.unwrap();
    let completed = || {
        entity::task::Entity::find()
            .filter(entity::task::Column::AccountId.eq(account_id.as_str()))
            .filter(entity::task::Column::Status.eq("completed"))
            .count(&running.db)
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut done = 0;
    while done < count as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        done = completed().await.unwrap();
    }
    let elapsed = started.elapsed();
    println!("\n(b) task queue — {count} noop tasks, {workers} workers");
    println!("  completed                 {done} of {count} in {:.2} s", elapsed.as_secs_f64());
    println!("  tasks/s                   {:.0}", done as f64 / elapsed.as_secs_f64());
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if std::env::var_os("RUST_LOG").is_some() {
        openclaw::telemetry::init();
    }
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = |file: &str| {
            std::env::var("BENCH_DATABASE_URL")
                .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join(file).display()))
        };
        let backend = if url("").starts_with("postgres") { "postgresql" } else { "sqlite" };
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        println!("openclaw webhook & task benchmark — backend {backend}, {cores} cores (client, receiver and server share them)");
        fanout(&url("burst.db"), env_or("BENCH_EVENTS", 200), 0.0).await;
        fanout(&url("paced.db"), env_or("BENCH_PACED_EVENTS", 100), env_or("BENCH_RATE", 10.0)).await;
        tasks(&url("tasks.db")).await;
    });
}
