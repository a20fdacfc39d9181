//! Durability: a real server process is killed with SIGKILL in the middle of a burst of webhook deliveries and
//! restarted on the same database; every event is still delivered at least once.
use std::{
    collections::HashSet,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::json;

use crate::{
    db_tests,
    helpers::{Backend, fresh_database},
    receiver::{Receiver, verify},
};

const BIN: &str = env!("CARGO_BIN_EXE_openclaw");
const EVENTS: usize = 40;

db_tests!(deliveries_survive_kill_9_mid_burst);

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The real server on `port` and the database, quiet, without a bootstrap account; the caller adds its settings.
pub(crate) fn server(database_url: &str, port: u16, storage: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env("OPENCLAW_DATABASE_URL", database_url)
        .env("OPENCLAW_LISTEN", format!("127.0.0.1:{port}"))
        .env("OPENCLAW_BOOTSTRAP_ACCOUNT", "false")
        .env("OPENCLAW_JWT_SECRET", "crash-test-secret-crash-test-secret")
        .env("OPENCLAW_STORAGE_DIR", storage)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn start(database_url: &str, port: u16, storage: &std::path::Path) -> Child {
    server(database_url, port, storage)
        .env("OPENCLAW_OUTBOUND_ALLOWLIST", "127.0.0.1/32")
        // A claim held by the killed process expires quickly, so the restarted one takes its deliveries over.
        .env("OPENCLAW_WEBHOOK_LEASE_SECS", "1")
        .env("OPENCLAW_WEBHOOK_POLL_MS", "100")
        .env("OPENCLAW_WEBHOOK_CONCURRENCY", "4")
        .spawn()
        .unwrap()
}

pub(crate) async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server at {base} never became ready");
}

/// A key for a new account on the database, made with the real binary's `keys create`.
pub(crate) fn create_key(database_url: &str, account: &str) -> String {
    let output = Command::new(BIN)
        .args(["keys", "create", "--account", account])
        .env("OPENCLAW_DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().last().unwrap().trim().to_owned()
}

async fn deliveries_survive_kill_9_mid_burst(backend: Backend) {
    let (database_url, _db) = fresh_database(backend).await;
    let storage = tempfile::tempdir().unwrap();
    let key = create_key(&database_url, "crash");
    let receiver = Receiver::start().await;
    // Slow enough that deliveries are in flight when the process dies.
    receiver.delay(Duration::from_millis(150));
    let client = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&database_url, port, storage.path());
    wait_ready(&client, &base).await;
    let post = |path: &str, body: serde_json::Value| {
        client.post(format!("{base}{path}")).header("X-API-Key", &key).json(&body).send()
    };
    let hook: serde_json::Value =
        post("/v2/webhooks", json!({ "url": receiver.url("/crash"), "events": ["conversation.created"] }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let agent: serde_json::Value =
        post("/v2/agents", json!({ "name": "crash", "model": "echo" })).await.unwrap().json().await.unwrap();
    for _ in 0..EVENTS {
        let created = post("/v2/conversations", json!({ "agentId": agent["id"] })).await.unwrap();
        assert_eq!(created.status(), 201);
    }
    // Mid-burst: some delivered, the rest in flight or pending.
    receiver.wait_for(3, Duration::from_secs(30)).await;
    server.kill().unwrap(); // SIGKILL: no shutdown, no cleanup
    server.wait().unwrap();
    let before = receiver.received().len();
    assert!(before < EVENTS, "the burst ended before the kill ({before} delivered); the test proves nothing");
    let mut server = start(&database_url, port, storage.path());
    wait_ready(&client, &base).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let expected: HashSet<String> = {
        let events: serde_json::Value = client
            .get(format!("{base}/v2/events?type=conversation.created&limit=100"))
            .header("X-API-Key", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        events["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(expected.len(), EVENTS, "every change left its event");
    loop {
        let received = receiver.received();
        let ids: HashSet<String> = received.iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
        if ids == expected {
            for r in &received {
                verify(r, &secret);
            }
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {EVENTS} events delivered after the restart ({before} before the kill)",
            ids.intersection(&expected).count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
