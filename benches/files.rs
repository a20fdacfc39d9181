//! Upload and download throughput of one large file (100 MB by default), and proof that memory stays flat: the
//! server and the client run in this process, and its peak resident memory (VmHWM) is printed before and after.
//! The client streams the upload from a generator and counts the download as it arrives, so any growth is the
//! server's.
//!
//!   cargo bench --bench files
//!   BENCH_FILE_MB=500 cargo bench --bench files
#![expect(clippy::unwrap_used, reason = "a benchmark that cannot set up should stop")]

use std::time::Instant;

use futures_util::StreamExt;
use openclaw::config::Config;

#[path = "support/server.rs"]
mod server;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let megabytes: u64 = std::env::var("BENCH_FILE_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
        let size = megabytes * 1_000_000;
        let config = Config {
            database_url: format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()),
            storage_dir: dir.path().join("storage").display().to_string(),
            bootstrap_account: false,
            limits_enabled: false,
            file_max_bytes: size + 1,
            ..Config::default()
        };
        let server::BenchServer { addr, key, .. } = server::start(config).await;
        let client = reqwest::Client::new();
        let before = peak_rss_mib();

        // 1 MB chunks generated on the fly: the client never holds the file either.
        let chunk = bytes::Bytes::from(vec![b'x'; 1_000_000]);
        let chunks = futures_util::stream::iter((0..megabytes).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(chunks), size)
            .file_name("big.txt");
        let started = Instant::now();
        let response = client
            .post(format!("http://{addr}/v2/files"))
            .header("x-api-key", &key)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        let upload_secs = started.elapsed().as_secs_f64();
        assert_eq!(response.status(), 201);
        let file: serde_json::Value = response.json().await.unwrap();
        assert_eq!(file["size"], size);
        let after_upload = peak_rss_mib();

        let started = Instant::now();
        let response = client
            .get(format!("http://{addr}/v2/files/{}/content", file["id"].as_str().unwrap()))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        let mut body = response.bytes_stream();
        let mut received = 0u64;
        while let Some(piece) = body.next().await {
            received += piece.unwrap().len() as u64;
        }
        let download_secs = started.elapsed().as_secs_f64();
        assert_eq!(received, size);
        let after_download = peak_rss_mib();

        let mb = size as f64 / 1_000_000.0;
        println!("openclaw files benchmark — one {megabytes} MB file, SQLite + local storage, loopback, {} cores",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        println!("upload    {:>8.0} MB/s  ({upload_secs:.2} s, streamed to disk with SHA-256)", mb / upload_secs);
        println!("download  {:>8.0} MB/s  ({download_secs:.2} s, streamed from disk)", mb / download_secs);
        println!(
            "peak RSS  {before:.0} MiB before → {after_upload:.0} MiB after the upload → {after_download:.0} MiB after the download (+{:.0} MiB for a {megabytes} MB file)",
            after_download - before
        );
    });
}
