//! A local webhook receiver: records every request (headers and exact body bytes) and answers with scripted
//! statuses, then 200.
use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::any,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A scripted answer: status and extra headers.
type Answer = (u16, Vec<(&'static str, String)>);

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    /// (status, extra headers) answered in order; 200 once empty.
    script: Mutex<VecDeque<Answer>>,
    /// Time taken before answering each delivery.
    delay: Mutex<Duration>,
    /// Files served on GET (path → (content type, bytes)).
    files: Mutex<Vec<(String, &'static str, Vec<u8>)>>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: axum::http::Uri,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    if method == axum::http::Method::GET {
        let files = inner.files.lock().unwrap().clone();
        return match files.into_iter().find(|(path, _, _)| path == uri.path()) {
            Some((_, content_type, bytes)) => ([("content-type", content_type)], bytes).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let delay = *inner.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    inner.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let (status, extra) = inner.script.lock().unwrap().pop_front().unwrap_or((200, Vec::new()));
    let mut response = (StatusCode::from_u16(status).unwrap(), "ok").into_response();
    for (name, value) in extra {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let router = Router::new().fallback(any(handle)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { addr, inner }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn answer(&self, status: u16, headers: Vec<(&'static str, String)>) {
        self.inner.script.lock().unwrap().push_back((status, headers));
    }

    /// A slow receiver: deliveries stay in flight this long.
    pub fn delay(&self, delay: Duration) {
        *self.inner.delay.lock().unwrap() = delay;
    }

    pub fn serve_file(&self, path: &str, content_type: &'static str, bytes: Vec<u8>) {
        self.inner.files.lock().unwrap().push((path.to_owned(), content_type, bytes));
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} deliveries, got {}: {received:#?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Checks both signature schemes of SPEC §6 on one received delivery with `secret`.
pub fn verify(received: &Received, secret: &str) {
    verify_in(received, secret, "x-openclaw-signature");
}

/// As [`verify`], for the secret a rotation replaced (its hex signature travels in its own header).
pub fn verify_previous(received: &Received, secret: &str) {
    verify_in(received, secret, "x-openclaw-signature-previous");
}

fn verify_in(received: &Received, secret: &str, hex_header: &str) {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(received.body.as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(received.header(hex_header), expected, "{hex_header}");
    let id = received.header("webhook-id");
    let timestamp = received.header("webhook-timestamp");
    let key = match secret.strip_prefix("whsec_") {
        Some(b64) => STANDARD.decode(b64).unwrap(),
        None => secret.as_bytes().to_vec(),
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", received.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let signatures = received.header("webhook-signature");
    assert!(signatures.split(' ').any(|s| s == expected), "webhook-signature {signatures} lacks {expected}");
    let now = chrono::Utc::now().timestamp();
    let ts: i64 = timestamp.parse().unwrap();
    assert!((now - ts).abs() < 300, "webhook-timestamp {ts} is not current");
}

/// Verifies deliveries with the Standard Webhooks reference library (npm `standardwebhooks`, run by Node): one
/// `valid` or `invalid: …` line per `(delivery, secret)`.
pub async fn verify_with_library(cases: &[(&Received, &str)]) -> Vec<String> {
    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks");
    crate::helpers::install_once(DIR, "[ -d node_modules/standardwebhooks ] || npm ci --no-audit --no-fund --silent");
    let json: Vec<serde_json::Value> = cases
        .iter()
        .map(|(received, secret)| {
            let headers: serde_json::Map<String, serde_json::Value> =
                ["webhook-id", "webhook-timestamp", "webhook-signature"]
                    .into_iter()
                    .map(|name| (name.to_owned(), serde_json::Value::String(received.header(name))))
                    .collect();
            serde_json::json!({ "body": received.body, "headers": headers, "secret": secret })
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_string(&json).unwrap()).unwrap();
    let mut node = std::process::Command::new("node");
    node.args([format!("{DIR}/verify.cjs"), file.path().display().to_string()]);
    let (ok, output) = crate::helpers::run_tool(node).await;
    assert!(ok, "{output}");
    output.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
}
