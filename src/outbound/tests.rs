//! End-to-end checks of the guard against real sockets on 127.0.0.1.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

const TIMEOUT: Duration = Duration::from_secs(10);

fn guard(allowlist: &str) -> OutboundGuard {
    OutboundGuard::new(Allowlist::parse(allowlist).unwrap())
}

/// A server on 127.0.0.1:0 running `handler` per connection; the counter tells whether anyone connected.
async fn spawn_server<F, Fut>(handler: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(TcpStream, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handler(stream, addr));
        }
    });
    (addr, connections)
}

/// Reads the request head and returns its request line.
async fn read_request(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buf).await.unwrap();
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buf[..read]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    head.lines().next().unwrap_or_default().to_owned()
}

/// Answers `GET /` with "hello", `/redirect?to=<location>` with a 302 there, anything else with 404.
async fn spawn_app() -> (SocketAddr, Arc<AtomicUsize>) {
    spawn_server(|mut stream, _| async move {
        let line = read_request(&mut stream).await;
        let path = line.split(' ').nth(1).unwrap_or_default().to_owned();
        let response = if path == "/" {
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"
                .to_owned()
        } else if let Some(location) = path.strip_prefix("/redirect?to=") {
            format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        } else {
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
        };
        let _ = stream.write_all(response.as_bytes()).await;
    })
    .await
}

fn assert_forbidden(result: Result<Fetched, OutboundError>, expected_reason: &str) {
    match result {
        Err(error @ OutboundError::Forbidden { reason, .. }) => {
            assert_eq!(reason, expected_reason, "{error}");
            assert_eq!(error.code(), "url_forbidden");
        }
        other => panic!("expected Forbidden ({expected_reason}), got {other:?}"),
    }
}

#[test]
fn check_url_rejects_non_http_credentials_and_missing_host() {
    let guard = guard("");
    for url in [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "http://user:pass@example.com/",
        "http://user@example.com/",
        "http://",
        "http:///",
        "not a url",
        "mailto:a@example.com",
    ] {
        let error = guard.check_url(url).unwrap_err();
        assert_eq!(error.code(), "invalid_url", "{url}: {error}");
    }
}

#[test]
fn check_url_refuses_literal_internal_addresses_in_any_spelling() {
    let guard = guard("");
    for url in [
        "http://127.0.0.1/",
        "http://0x7f.1/",
        "http://2130706433/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/",
        "http://0.0.0.0:3000/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://metadata.google.internal/computeMetadata/v1/",
    ] {
        let error = guard.check_url(url).unwrap_err();
        assert_eq!(error.code(), "url_forbidden", "{url}: {error}");
    }
    for url in ["https://example.com/hook", "http://93.184.216.34:8080/x", "https://[2606:4700::1]/"] {
        assert!(guard.check_url(url).is_ok(), "{url}");
    }
}

#[test]
fn forbidden_message_names_the_target_and_the_setting() {
    let error = guard("").check_url("http://10.0.0.5/").unwrap_err();
    assert_eq!(
        error.to_string(),
        "refusing to connect to 10.0.0.5 (private address); allow it with OPENCLAW_OUTBOUND_ALLOWLIST"
    );
}

#[tokio::test]
async fn resolve_checked_applies_names_addresses_and_allowlist() {
    let url = Url::parse("http://127.0.0.1:8080/").unwrap();
    assert_eq!(guard("").resolve_checked(&url).await.unwrap_err().code(), "url_forbidden");
    assert_eq!(guard("127.0.0.1/32").resolve_checked(&url).await.unwrap(), vec!["127.0.0.1:8080".parse().unwrap()]);

    let localhost = Url::parse("http://localhost:8080/").unwrap();
    assert_eq!(guard("127.0.0.1/32").resolve_checked(&localhost).await.unwrap_err().code(), "url_forbidden");
    let addrs = guard("localhost").resolve_checked(&localhost).await.unwrap();
    assert!(addrs.iter().all(|addr| addr.ip().is_loopback() && addr.port() == 8080), "{addrs:?}");
}

#[tokio::test]
async fn loopback_server_is_refused_without_allowlist_and_never_contacted() {
    let (addr, connections) = spawn_app().await;
    let result = guard("").fetch(&format!("http://{addr}/"), 1024, TIMEOUT).await;
    assert_forbidden(result, "loopback address");
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn allow_listed_server_is_fetched() {
    let (addr, _) = spawn_app().await;
    let fetched = guard("127.0.0.1/32").fetch(&format!("http://{addr}/"), 1024, TIMEOUT).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.content_type.as_deref(), Some("text/plain"));
    assert_eq!(fetched.final_url, format!("http://{addr}/"));
    assert_eq!(&fetched.bytes[..], b"hello");
}

#[tokio::test]
async fn non_success_status_is_an_error() {
    let (addr, _) = spawn_app().await;
    let error = guard("127.0.0.1").fetch(&format!("http://{addr}/missing"), 1024, TIMEOUT).await.unwrap_err();
    assert!(matches!(error, OutboundError::Status(404)), "{error:?}");
    assert_eq!(error.code(), "upstream_status");
}

#[tokio::test]
async fn redirects_to_internal_targets_are_refused() {
    let (addr, _) = spawn_app().await;
    let guard = guard("127.0.0.1/32");
    let cases = [
        ("http://10.0.0.1/", "private address"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata address"),
        ("http://[::ffff:192.168.0.1]/", "private address"),
        (&format!("http://localhost:{}/", addr.port()), "local host name"),
    ];
    for (location, reason) in cases {
        let result = guard.fetch(&format!("http://{addr}/redirect?to={location}"), 1024, TIMEOUT).await;
        assert_forbidden(result, reason);
    }
}

#[tokio::test]
async fn allowed_redirects_are_followed() {
    let (addr, _) = spawn_app().await;
    let fetched =
        guard("127.0.0.1/32").fetch(&format!("http://{addr}/redirect?to=http://{addr}/"), 1024, TIMEOUT).await.unwrap();
    assert_eq!(fetched.final_url, format!("http://{addr}/"));
    assert_eq!(&fetched.bytes[..], b"hello");
}

#[tokio::test]
async fn redirect_loops_stop() {
    let (addr, _) = spawn_server(|mut stream, addr| async move {
        read_request(&mut stream).await;
        let response = format!(
            "HTTP/1.1 302 Found\r\nlocation: http://{addr}/again\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let _ = stream.write_all(response.as_bytes()).await;
    })
    .await;
    let error = guard("127.0.0.1/32").fetch(&format!("http://{addr}/"), 1024, TIMEOUT).await.unwrap_err();
    assert!(matches!(error, OutboundError::TooManyRedirects), "{error:?}");
}

#[tokio::test]
async fn localhost_is_refused_unless_allow_listed_by_name() {
    let (addr, connections) = spawn_app().await;
    let url = format!("http://localhost:{}/", addr.port());
    assert_forbidden(guard("127.0.0.1/32").fetch(&url, 1024, TIMEOUT).await, "local host name");

    // Without `check_url` in front, the client's own resolver refuses it, and the refusal survives reqwest's
    // error wrapping.
    let error = guard("").client(TIMEOUT).get(&url).send().await.unwrap_err();
    let error = OutboundError::from_reqwest(error);
    assert!(matches!(error, OutboundError::Forbidden { reason: "local host name", .. }), "{error:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 0);

    let fetched = guard("localhost").fetch(&url, 1024, TIMEOUT).await.unwrap();
    assert_eq!(&fetched.bytes[..], b"hello");
}

#[tokio::test]
async fn declared_length_over_the_limit_is_refused() {
    let (addr, _) = spawn_server(|mut stream, _| async move {
        read_request(&mut stream).await;
        let mut response = b"HTTP/1.1 200 OK\r\ncontent-length: 2000\r\nconnection: close\r\n\r\n".to_vec();
        response.extend_from_slice(&[b'x'; 2000]);
        let _ = stream.write_all(&response).await;
    })
    .await;
    let guard = guard("127.0.0.1/32");
    let error = guard.fetch(&format!("http://{addr}/"), 1000, TIMEOUT).await.unwrap_err();
    assert!(matches!(error, OutboundError::TooLarge { limit: 1000 }), "{error:?}");
    assert_eq!(error.code(), "too_large");
    let fetched = guard.fetch(&format!("http://{addr}/"), 2000, TIMEOUT).await.unwrap();
    assert_eq!(fetched.bytes.len(), 2000, "a body of exactly the limit is accepted");
}

#[tokio::test]
async fn endless_body_without_length_is_cut_off() {
    let (addr, _) = spawn_server(|mut stream, _| async move {
        read_request(&mut stream).await;
        let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head).await.is_err() {
            return;
        }
        let chunk = format!("400\r\n{}\r\n", "y".repeat(0x400));
        // Until the client hangs up: only an early stop ends this response.
        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    let error = guard("127.0.0.1/32").fetch(&format!("http://{addr}/"), 10_000, TIMEOUT).await.unwrap_err();
    assert!(matches!(error, OutboundError::TooLarge { limit: 10_000 }), "{error:?}");
}

#[tokio::test]
async fn silent_server_times_out() {
    let (addr, _) = spawn_server(|mut stream, _| async move {
        read_request(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    let started = std::time::Instant::now();
    let error =
        guard("127.0.0.1/32").fetch(&format!("http://{addr}/"), 1024, Duration::from_millis(300)).await.unwrap_err();
    assert!(matches!(error, OutboundError::Timeout), "{error:?}");
    assert_eq!(error.code(), "timeout");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn clients_are_built_once_per_timeout() {
    let guard = guard("");
    let _ = guard.client(Duration::from_secs(1));
    let _ = guard.clone().client(Duration::from_secs(1));
    let _ = guard.client(Duration::from_secs(2));
    assert_eq!(guard.inner.clients.lock().unwrap().len(), 2);
}
