//! Shared by the HTTP benchmarks: keep-alive HTTP/1.1 clients hammering one scenario, and percentiles.
#![allow(dead_code, reason = "each benchmark uses a part")]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub struct Scenario {
    pub name: &'static str,
    pub method: hyper::Method,
    pub path: String,
    pub body: Option<String>,
}

/// Runs `connections` keep-alive clients for `seconds`; returns (requests, latencies in µs, errors).
pub async fn drive(
    addr: std::net::SocketAddr,
    key: &str,
    scenario: &Scenario,
    connections: usize,
    seconds: u64,
) -> (usize, Vec<u32>, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let stop = stop.clone();
        let (method, path, body, key) =
            (scenario.method.clone(), scenario.path.clone(), scenario.body.clone(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            let (mut latencies, mut errors) = (Vec::with_capacity(100_000), 0usize);
            while !stop.load(Ordering::Relaxed) {
                let request = Request::builder()
                    .method(method.clone())
                    .uri(&path)
                    .header("host", "bench")
                    .header("x-api-key", &key)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.clone().unwrap_or_default())))
                    .unwrap();
                let started = Instant::now();
                if sender.ready().await.is_err() {
                    break;
                }
                match sender.send_request(request).await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.into_body().collect().await;
                        if ok {
                            latencies.push(started.elapsed().as_micros() as u32);
                        } else {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut all, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (latencies, e) = task.await.unwrap();
        all.extend(latencies);
        errors += e;
    }
    (all.len(), all, errors)
}

pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}
