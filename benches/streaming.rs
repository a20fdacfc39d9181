//! Streaming benchmark: starts the real server on loopback and prints what streamed replies cost (no thresholds).
//!
//!   cargo bench --bench streaming                  # SQLite in a temp dir
//!   BENCH_DATABASE_URL=postgres://… cargo bench --bench streaming
//!   BENCH_STREAMS=500 BENCH_CONCURRENT=1000 BENCH_SUBSCRIBERS=5000 BENCH_PACE_MS=20 cargo bench --bench streaming
//!
//! (a) Overhead: `echo` at zero pace costs ~nothing, so the figures are the server's own. BENCH_STREAMS streamed
//!     sends (~52 tokens each, a fresh conversation each) on keep-alive HTTP/1.1 connections, one at a time, then
//!     BENCH_OVERHEAD_CONCURRENCY (8) at a time. Per token = (`done` − first delta) / deltas.
//! (b) Fan-out, `echo` at BENCH_PACE_MS per token: BENCH_BROADCASTS (5) replies wait queued behind long blockers
//!     while a reference follower each, then BENCH_SUBSCRIBERS `GET …/stream` followers open; then the blockers
//!     are cancelled and BENCH_CONCURRENT streamed sends start (BENCH_SEND_SLOTS at once). The server does not stamp
//!     events: a delta's fan-out latency is its arrival minus its arrival at the reference (and at the earliest).
//!
//! Also BENCH_TOKENS (52) per send and BENCH_BROADCAST_TOKENS (200, so that they outlast the sends' ramp-up) per
//! broadcast in (b), BENCH_TIMEOUT_SECS (60) for (b)'s streams to end, BENCH_DB_CONNECTIONS,
//! and RUST_LOG to see the server's logs. Client and server share the process and the cores: RSS includes both.
#![expect(clippy::unwrap_used, reason = "a benchmark that cannot set up should stop")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, client::conn::http1::SendRequest};
use hyper_util::rt::TokioIo;
use openclaw::{app, app::AppState, auth::Plan, config::Config, services};
use serde_json::{Value, json};
use tokio::{sync::Semaphore, sync::mpsc, task::JoinHandle};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Client timestamps are µs since this instant, so traces from different tasks compare directly.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_us() -> u64 {
    EPOCH.elapsed().as_micros() as u64
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `n` words: `echo` answers `Echo: <words>`, one token per word plus `Echo` and `:`.
fn words(n: usize) -> String {
    (0..n).map(|i| ["alpha", "bravo", "charlie", "delta", "echo"][i % 5]).collect::<Vec<_>>().join(" ")
}

/// (VmRSS, VmHWM) of this process, in MiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |name: &str| -> u64 {
        let value = status.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_default();
        value.trim().trim_end_matches(" kB").parse().unwrap_or(0)
    };
    (kib("VmRSS:") / 1024, kib("VmHWM:") / 1024)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Created,
    Delta,
    Done,
    Error,
    Other,
}

/// One event as a client saw it: its `id:` (sequence), its `event:`, and when its bytes arrived.
#[derive(Clone, Copy)]
struct Seen {
    seq: u32,
    kind: Kind,
    at: u64,
}

/// An event stream read to its `done`.
struct Trace {
    sent: u64,
    first_byte: u64,
    events: Vec<Seen>,
}

impl Trace {
    fn first(&self, kind: Kind) -> Option<u64> {
        self.events.iter().find(|e| e.kind == kind).map(|e| e.at)
    }
    fn deltas(&self) -> Vec<Seen> {
        self.events.iter().copied().filter(|e| e.kind == Kind::Delta).collect()
    }
}

/// Reads only the `id:` and `event:` lines of an event block: the JSON is never parsed.
fn parse_event(block: &[u8], at: u64) -> Option<Seen> {
    let (mut seq, mut kind) = (0, None);
    for line in block.split(|&b| b == b'\n') {
        if let Some(v) = line.strip_prefix(b"id:") {
            seq = std::str::from_utf8(v).ok()?.trim().parse().ok()?;
        } else if let Some(v) = line.strip_prefix(b"event:") {
            kind = Some(match v.trim_ascii() {
                b"message.created" => Kind::Created,
                b"message.delta" => Kind::Delta,
                b"done" => Kind::Done,
                b"error" => Kind::Error,
                _ => Kind::Other,
            });
        }
    }
    Some(Seen { seq, kind: kind?, at })
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A POST with `body`, else a GET.
fn request(path: &str, key: &str, body: Option<&str>) -> Request<Full<Bytes>> {
    let method = if body.is_some() { hyper::Method::POST } else { hyper::Method::GET };
    let builder = Request::builder().method(method).uri(path).header("host", "bench").header("x-api-key", key);
    let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
    builder.header("content-type", "application/json").body(body).unwrap()
}

/// Sends `request` and reads its event stream to the end; `on_open` runs when the first body bytes arrive.
async fn read_stream(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
    on_open: impl FnOnce(),
) -> Result<Trace, String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let sent = now_us();
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let mut body = response.into_body();
    if status != hyper::StatusCode::OK {
        let text = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        return Err(format!("{status}: {}", String::from_utf8_lossy(&text[..text.len().min(200)])));
    }
    let (mut buf, mut on_open) = (Vec::with_capacity(4096), Some(on_open));
    let mut trace = Trace { sent, first_byte: 0, events: Vec::with_capacity(64) };
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|e| e.to_string())?.into_data() else { continue };
        let at = now_us();
        if let Some(open) = on_open.take() {
            trace.first_byte = at;
            open();
        }
        buf.extend_from_slice(&data);
        let mut start = 0;
        while let Some(end) = buf[start..].windows(2).position(|w| w == b"\n\n") {
            trace.events.extend(parse_event(&buf[start..start + end], at));
            start += end + 2;
        }
        buf.drain(..start);
    }
    match trace.events.last() {
        Some(e) if e.kind == Kind::Done && trace.events.iter().all(|e| e.kind != Kind::Error) => Ok(trace),
        Some(e) if e.kind == Kind::Done => Err("the stream carried an `error` event".into()),
        _ => Err("the stream ended without `done`".into()),
    }
}

type Stream = JoinHandle<Result<Trace, String>>;

/// Opens one connection per stream, each taking one of `slots` until its first body byte (or its failure), when
/// `opened` is told.
struct Driver {
    addr: SocketAddr,
    key: String,
    opened: (mpsc::UnboundedSender<()>, mpsc::UnboundedReceiver<()>),
}

impl Driver {
    fn spawn(&self, path: &str, body: Option<&str>, slots: &Arc<Semaphore>) -> Stream {
        let (addr, slots, opened, request) =
            (self.addr, slots.clone(), self.opened.0.clone(), request(path, &self.key, body));
        tokio::spawn(async move {
            let mut pending = Some((slots.acquire_owned().await.unwrap(), opened));
            let mut open = || {
                if let Some((_slot, opened)) = pending.take() {
                    let _ = opened.send(());
                }
            };
            let result = match connect(addr).await {
                Ok(mut sender) => read_stream(&mut sender, request, &mut open).await,
                Err(error) => Err(error),
            };
            open(); // a stream that failed before its first byte
            result
        })
    }

    /// Waits until `n` more streams have opened; returns how long that took, in seconds.
    async fn wait(&mut self, n: usize) -> f64 {
        let started = Instant::now();
        for _ in 0..n {
            self.opened.1.recv().await;
        }
        started.elapsed().as_secs_f64()
    }
}

/// Awaits stream tasks, keeping their order; a failed stream, or one unfinished at `deadline`, goes to `errors`.
async fn finish(handles: Vec<Stream>, errors: &mut Vec<String>, deadline: tokio::time::Instant) -> Vec<Option<Trace>> {
    let mut traces = Vec::with_capacity(handles.len());
    for handle in handles {
        let abort = handle.abort_handle();
        let outcome = tokio::time::timeout_at(deadline, handle).await;
        abort.abort();
        let outcome = outcome.unwrap_or_else(|_| Ok(Err("no `done` before the deadline".into()))).unwrap();
        traces.push(outcome.map_err(|e| errors.push(e)).ok());
    }
    traces
}

/// `N` and each distinct error (request ids cut off) with its count.
fn show_errors(errors: &[String]) -> String {
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for e in errors {
        *kinds.entry(e.split(",\"requestId\"").next().unwrap_or(e)).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(e, n)| format!("{n}× {e}")).collect();
    format!("{}{}", errors.len(), if kinds.is_empty() { String::new() } else { format!(": {}", kinds.join("; ")) })
}

/// Prints p50/p90/p99/max of µs values, in ms.
fn row(name: &str, mut values: Vec<i64>) {
    values.sort_unstable();
    let p = |q: f64| values.get(((values.len().max(1) - 1) as f64 * q).round() as usize).map_or(0.0, |&v| v as f64);
    let (p50, p90, p99, max) = (p(0.5) / 1e3, p(0.9) / 1e3, p(0.99) / 1e3, p(1.0) / 1e3);
    println!("  {name:<36} p50 {p50:>8.3}  p90 {p90:>8.3}  p99 {p99:>8.3}  max {max:>9.3} ms  (n={})", values.len());
}

/// Per-stream latencies. With a pace, the expected waits are taken out of the per-token figure.
fn report(title: &str, traces: &[Trace], pace_us: u64) {
    println!("{title}");
    let (mut ttfb, mut created, mut first, mut per_token, mut tail) = (vec![], vec![], vec![], vec![], vec![]);
    for t in traces {
        let deltas = t.deltas();
        let (Some(c), Some(d), Some(last), Some(done)) =
            (t.first(Kind::Created), deltas.first(), deltas.last(), t.first(Kind::Done))
        else {
            continue;
        };
        let n = deltas.len() as i64;
        ttfb.push((t.first_byte - t.sent) as i64);
        created.push((c - t.sent) as i64);
        first.push((d.at - t.sent) as i64);
        per_token.push(((done - d.at) as i64 - (n - 1) * pace_us as i64) / n);
        tail.push((done - last.at) as i64);
    }
    row("time to first byte", ttfb);
    row("time to message.created", created);
    row("time to first message.delta", first);
    row("per-token overhead (done−first)/n", per_token);
    row("  tail: last delta → done", tail);
}

/// Setup calls over reqwest.
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> Value {
        let request = self.http.post(format!("{}{path}", self.base)).header("x-api-key", &self.key).json(&body);
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success() && value.get("errors").is_none(), "{path}: {status} {value}");
        value
    }
    async fn conversations(&self, n: usize) -> Vec<String> {
        let agent = self.post("/v2/agents", json!({"name": "bench", "model": "echo"})).await["id"].clone();
        // One at a time: concurrent creates fail on SQLite ("database is locked", see the deferred transaction in
        // services::conversations::create).
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(
                self.post("/v2/conversations", json!({"agentId": agent})).await["id"].as_str().unwrap().to_owned(),
            );
        }
        ids
    }
}

/// Starts a server on port 0 with `echo` at `pace_ms` per token; returns a client for it and its stop.
async fn start_server(database_url: String, pace_ms: u64) -> (SocketAddr, Api, tokio::sync::oneshot::Sender<()>) {
    let db_max_connections = env_or("BENCH_DB_CONNECTIONS", Config::default().db_max_connections);
    let config = Config { database_url, db_max_connections, echo_token_delay_ms: pace_ms, ..Config::default() };
    let state = AppState::build(Config { bootstrap_account: false, ..config }).await.unwrap();
    let name = format!("bench-{}", uuid::Uuid::new_v4());
    let account = services::accounts::find_or_create(&state.db, &name, Plan::Enterprise).await.unwrap();
    let (_, key) = services::accounts::create_key(&state.db, &account.id, None, vec!["*".into()]).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app::run(listener, app::build_router(state).unwrap(), async move {
        let _ = stopped.await;
    }));
    (addr, Api { http: reqwest::Client::new(), base: format!("http://{addr}"), key }, stop)
}

/// (a): one streamed send per conversation over `concurrency` keep-alive connections.
async fn overhead(
    addr: SocketAddr,
    key: &str,
    conversations: &[String],
    concurrency: usize,
) -> Vec<Result<Trace, String>> {
    let body = json!({"content": words(50), "stream": true}).to_string();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let mine: Vec<String> = conversations.iter().skip(w).step_by(concurrency).cloned().collect();
            let (key, body) = (key.to_owned(), body.clone());
            tokio::spawn(async move {
                let (mut traces, mut sender) = (Vec::with_capacity(mine.len()), connect(addr).await.unwrap());
                for id in mine {
                    let request = request(&format!("/v2/conversations/{id}/messages"), &key, Some(&body));
                    let trace = read_stream(&mut sender, request, || ()).await;
                    if trace.is_err() {
                        sender = connect(addr).await.unwrap(); // the connection may be mid-response
                    }
                    traces.push(trace);
                }
                traces
            })
        })
        .collect();
    futures_util::future::join_all(workers).await.into_iter().flat_map(|w| w.unwrap()).collect()
}

const CANCEL: &str = "mutation($c: ID!) { cancelReply(conversationId: $c) { id } }";

/// Queues each broadcast reply behind a long blocker reply (cancelled later); returns the queued replies' ids.
async fn queue_broadcasts(api: &Api, conversations: &[String], content: &str) -> Vec<String> {
    let send = "mutation($c: ID!, $content: String!, $busy: WhileBusy!) { \
                sendMessage(conversationId: $c, input: {content: $content, whileBusy: $busy}) { replyId } }";
    let mut replies = Vec::new();
    for c in conversations {
        let blocker = json!({"c": c, "content": words(5000), "busy": "reject"});
        api.post("/v2/graphql", json!({"query": send, "variables": blocker})).await;
        let queued = json!({"c": c, "content": content, "busy": "enqueue"});
        let sent = api.post("/v2/graphql", json!({"query": send, "variables": queued})).await;
        replies.push(sent["data"]["sendMessage"]["replyId"].as_str().unwrap().to_owned());
    }
    replies
}

/// Fan-out latency of each broadcast's deltas; follower `i` follows broadcast `i % references.len()`.
fn report_fanout(references: &[Option<Trace>], followers: &[Option<Trace>], pace_us: u64) {
    let (mut vs_reference, mut vs_earliest, mut spread, mut jitter) = (vec![], vec![], vec![], vec![]);
    for (b, reference) in references.iter().enumerate() {
        let Some(reference) = reference else { continue };
        let group: Vec<Vec<Seen>> =
            followers.iter().skip(b).step_by(references.len()).flatten().map(Trace::deltas).collect();
        let size = reference.events.len() + 1;
        let (mut at_reference, mut earliest, mut latest) = (vec![None; size], vec![u64::MAX; size], vec![0; size]);
        for d in reference.deltas() {
            at_reference[d.seq as usize] = Some(d.at);
        }
        for d in group.iter().flatten().chain(&reference.deltas()).filter(|d| (d.seq as usize) < size) {
            earliest[d.seq as usize] = earliest[d.seq as usize].min(d.at);
            latest[d.seq as usize] = latest[d.seq as usize].max(d.at);
        }
        spread.extend(earliest.iter().zip(&latest).filter(|(e, _)| **e != u64::MAX).map(|(e, l)| (l - e) as i64));
        for deltas in &group {
            for d in deltas.iter().filter(|d| (d.seq as usize) < size) {
                vs_earliest.push((d.at - earliest[d.seq as usize]) as i64);
                vs_reference.extend(at_reference[d.seq as usize].map(|r| d.at as i64 - r as i64));
            }
            jitter.extend(deltas.windows(2).map(|w| ((w[1].at - w[0].at) as i64 - pace_us as i64).abs()));
        }
    }
    // Deliveries per second while the broadcasts ran, against what the followers were offered.
    let deltas = followers.iter().flatten().flat_map(Trace::deltas);
    let (count, first, last) = deltas.fold((0, u64::MAX, 0), |(n, f, l), d| (n + 1, f.min(d.at), l.max(d.at)));
    let (offered, rate) =
        (followers.len() as f64 * 1e6 / pace_us as f64, count as f64 * 1e6 / last.saturating_sub(first).max(1) as f64);
    println!("fan-out: {count} deltas delivered at {rate:.0}/s (offered {offered:.0}/s)");
    row("delta arrival − reference follower", vs_reference);
    row("delta arrival − earliest arrival", vs_earliest);
    row("per-delta spread (last − first)", spread);
    row("inter-arrival jitter |gap − pace|", jitter);
}

/// Opens the reference followers (one per broadcast), then `n` followers spread over the broadcasts.
async fn open_followers(driver: &mut Driver, paths: &[String], n: usize) -> (Vec<Stream>, Vec<Stream>) {
    let slots = Arc::new(Semaphore::new(256)); // the accept backlog
    let references: Vec<_> = paths.iter().map(|path| driver.spawn(path, None, &slots)).collect();
    driver.wait(paths.len()).await;
    let followers: Vec<_> = (0..n).map(|i| driver.spawn(&paths[i % paths.len()], None, &slots)).collect();
    println!("{n} subscribers (+{} references) opened in {:.2}s", paths.len(), driver.wait(n).await);
    (references, followers)
}

/// (b): followers of queued broadcast replies, then concurrent streamed sends, then the broadcasts start.
async fn fanout(database_url: String, peak: &AtomicU64) {
    let (pace, broadcasts) = (env_or("BENCH_PACE_MS", 20u64), env_or("BENCH_BROADCASTS", 5usize).max(1));
    let (streams, subscribers) = (env_or("BENCH_CONCURRENT", 1000usize), env_or("BENCH_SUBSCRIBERS", 5000usize));
    let (addr, api, _stop) = start_server(database_url, pace).await;
    let content = words(env_or("BENCH_TOKENS", 52usize).saturating_sub(2).max(1));
    let conversations = api.conversations(streams + broadcasts).await;
    let (sending, broadcasting) = conversations.split_at(streams);
    let broadcast = words(env_or("BENCH_BROADCAST_TOKENS", 200usize).saturating_sub(2).max(1));
    let replies = queue_broadcasts(&api, broadcasting, &broadcast).await;
    let paths: Vec<String> =
        broadcasting.iter().zip(&replies).map(|(c, r)| format!("/v2/conversations/{c}/messages/{r}/stream")).collect();
    println!("\n(b) fan-out — echo at {pace} ms/token, {streams} streamed sends, {broadcasts} broadcasts");
    let (rss_before, mut driver) =
        (memory().0, Driver { addr, key: api.key.clone(), opened: mpsc::unbounded_channel() });
    let (references, followers) = open_followers(&mut driver, &paths, subscribers).await;
    // The first body byte (`retry:`) comes before the subscription's own lookups: let those settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = memory().0;
    peak.store(0, Ordering::Relaxed);
    // The broadcasts start first, one at a time: on SQLite a queued reply's claim (messages::claim_next_queued
    // reads, then writes, in a deferred transaction) fails when it meets another write, and the reply never starts.
    for c in broadcasting {
        api.post("/v2/graphql", json!({"query": CANCEL, "variables": {"c": c}})).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (body, slots) = (json!({"content": content, "stream": true}), Semaphore::new(env_or("BENCH_SEND_SLOTS", 256)));
    let (body, slots) = (body.to_string(), Arc::new(slots));
    let send = |c| driver.spawn(&format!("/v2/conversations/{c}/messages"), Some(&body), &slots);
    let runs: Vec<_> = sending.iter().map(send).collect();
    println!(
        "broadcasts released; {streams} streamed sends accepted (first byte) in {:.2}s",
        driver.wait(streams).await
    );
    let (mut errors, deadline) =
        (Vec::new(), tokio::time::Instant::now() + Duration::from_secs(env_or("BENCH_TIMEOUT_SECS", 60)));
    let runs = finish(runs, &mut errors, deadline).await;
    let (references, followers) =
        (finish(references, &mut errors, deadline).await, finish(followers, &mut errors, deadline).await);
    let (rss_peak, hwm) = (peak.load(Ordering::Relaxed), memory().1);
    let delivered: usize = runs.iter().chain(&references).chain(&followers).flatten().map(|t| t.events.len()).sum();
    let runs: Vec<Trace> = runs.into_iter().flatten().collect();
    // How many sends were streaming halfway through the first broadcast.
    let middle = references.iter().flatten().next().map(Trace::deltas).and_then(|d| d.get(d.len() / 2).map(|d| d.at));
    let live =
        runs.iter().filter(|t| middle.is_some() && t.first(Kind::Created) <= middle && t.first(Kind::Done) >= middle);
    let title = format!("streamed sends: {} done, {} streaming halfway through a broadcast", runs.len(), live.count());
    report(&title, &runs, pace * 1000);
    println!("subscribers: {} of {subscribers} followed to `done`", followers.iter().flatten().count());
    report_fanout(&references, &followers, pace * 1000);
    drop((runs, references, followers));
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("events delivered {delivered}, errors {}", show_errors(&errors));
    let after = memory().0;
    println!(
        "RSS (server + load generator) MiB: before {rss_before}, subscribers open {rss_idle}, peak during {rss_peak} (VmHWM {hwm}), after {after}"
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if std::env::var_os("RUST_LOG").is_some() {
        openclaw::telemetry::init(); // off by default: an access-log line per request would be measured too
    }
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = |file: &str| {
            std::env::var("BENCH_DATABASE_URL")
                .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join(file).display()))
        };
        let backend = if url("").starts_with("postgres") { "postgresql" } else { "sqlite" };
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let peak = Arc::new(AtomicU64::new(0));
        let sampled = peak.clone();
        tokio::spawn(async move {
            loop {
                sampled.fetch_max(memory().0, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        println!("openclaw streaming benchmark — backend {backend}, {cores} cores, RSS at start {} MiB", memory().0);

        let (m, concurrency) = (env_or("BENCH_STREAMS", 500usize), env_or("BENCH_OVERHEAD_CONCURRENCY", 8usize));
        let (addr, api, stop) = start_server(url("overhead.db"), 0).await;
        overhead(addr, &api.key, &api.conversations(20).await, 1).await; // warm-up
        println!("\n(a) server overhead — echo at 0 ms/token, ~52 deltas per reply, a fresh conversation per send");
        for c in [1, concurrency] {
            let conversations = api.conversations(m).await;
            let started = Instant::now();
            let (traces, errors): (Vec<_>, Vec<_>) =
                overhead(addr, &api.key, &conversations, c).await.into_iter().partition(Result::is_ok);
            let rate = traces.len() as f64 / started.elapsed().as_secs_f64();
            let errors: Vec<String> = errors.into_iter().filter_map(Result::err).collect();
            let title = format!(
                "concurrency {c}: {} of {m} streams done ({rate:.0}/s), errors {}",
                traces.len(),
                show_errors(&errors)
            );
            report(&title, &traces.into_iter().flatten().collect::<Vec<_>>(), 0);
        }
        let _ = stop.send(());
        fanout(url("fanout.db"), &peak).await;
    });
}
