//! `spawn_app()` and the `TestApp` client helpers.
use std::{net::SocketAddr, time::Duration};

use openclaw::{
    app::{self, AppState},
    auth::Plan,
    config::Config,
    services,
};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each listed `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef-0123456789";

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("OPENCLAW_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test.
pub enum TestDb {
    Sqlite(#[expect(dead_code, reason = "held so the directory lives as long as the test")] tempfile::TempDir),
    Postgres { name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name } = self {
            let name = name.clone();
            // Drop runs inside the test's runtime; use a separate thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(postgres_admin_url()).await {
                        let _ =
                            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// An all-scopes key of account `tenant-a`.
    pub key: String,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// The sibling of another app shares that app's database and does not own it.
    _db: Option<TestDb>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

pub async fn fresh_database(backend: Backend) -> (String, TestDb) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("openclaw.db").display());
            (url, TestDb::Sqlite(dir))
        }
        Backend::Postgres => {
            let name = format!("openclaw_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(postgres_admin_url())
                .await
                .expect("PostgreSQL must be reachable (set OPENCLAW_TEST_POSTGRES_URL)");
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
            let base = postgres_admin_url();
            let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
            (url, TestDb::Postgres { name })
        }
    }
}

/// Spawns the server with a fresh database and one all-scopes API key.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    openclaw::telemetry::init();
    let (database_url, db) = fresh_database(backend).await;
    let mut config = Config {
        database_url,
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(JWT_SECRET.to_owned().into()),
        bootstrap_account: false,
        api_key_cache_secs: 0,
        db_max_connections: 4,
        // Tests' webhook receivers and fetched files live on loopback, which the outbound guard refuses by default.
        outbound_allowlist: "127.0.0.1/32".into(),
        storage_dir: std::env::temp_dir()
            .join(format!("openclaw-test-{}", uuid::Uuid::new_v4().simple()))
            .display()
            .to_string(),
        webhook_retry_scale: 0.001,
        webhook_poll_ms: 50,
        task_poll_ms: 50,
        // Most tests send more than a free plan's 60 requests a minute; the limits tests turn limits on.
        limits_enabled: false,
        // The server runs inside the test binary, whose own path cannot run `openclaw extract`.
        extract_command: Some(env!("CARGO_BIN_EXE_openclaw").to_owned()),
        ..Config::default()
    };
    tweak(&mut config);
    let mut app = serve(config, Some(db)).await;
    app.key = app.create_key("tenant-a", Plan::Free, &["*"]).await;
    app
}

/// A second server on the same database (another instance of one deployment), with `tweak` applied to a copy of
/// the first one's configuration. Uses the first one's key.
pub async fn spawn_sibling(app: &TestApp, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = (*app.state.config).clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    tweak(&mut config);
    let mut sibling = serve(config, None).await;
    sibling.key = app.key.clone();
    sibling
}

async fn serve(config: Config, db: Option<TestDb>) -> TestApp {
    let state = AppState::build(config).await.unwrap();
    let router = app::build_router(state.clone()).unwrap();
    let limits = state.config.connection_limits();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app::run_with(listener, router, limits, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        addr,
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        key: String::new(),
        state,
        shutdown: Some(tx),
        server: Some(server),
        _db: db,
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The SPEC error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
    pub fn field(&self) -> &str {
        self.body["error"]["details"]["field"].as_str().unwrap_or_default()
    }
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.text);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {}", self.text);
        let request_id = self.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(self.body["error"]["requestId"], request_id, "requestId must match X-Request-Id");
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates (or reuses) an account and returns a new key for it.
    pub async fn create_key(&self, account: &str, plan: Plan, scopes: &[&str]) -> String {
        let account = services::accounts::find_or_create(&self.state.db, account, plan).await.unwrap();
        let scopes = scopes.iter().map(|s| s.to_string()).collect();
        services::accounts::create_key(&self.state.db, &account.id, None, scopes).await.unwrap().1
    }

    /// Sends a request with `X-API-Key: key` (if given) and a JSON body (if given).
    pub async fn send(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Some(&self.key), None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(&self.key), Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(&self.key), Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, Some(&self.key), None).await
    }

    /// Runs a GraphQL operation as `key`.
    pub async fn graphql_as(&self, key: &str, query: &str, variables: Value) -> Reply {
        let request = self
            .client
            .post(self.url("/v2/graphql"))
            .header("X-API-Key", key)
            .header("Accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        read(request.send().await.unwrap()).await
    }

    pub async fn graphql(&self, query: &str, variables: Value) -> Reply {
        self.graphql_as(&self.key.clone(), query, variables).await
    }

    /// Creates an agent from the seed example and returns its id.
    pub async fn seed_agent(&self) -> String {
        let reply = self.post("/v2/agents", seed_agent_body()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_str().unwrap().to_owned()
    }
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, headers, body, text }
}

/// The announcement's "create agent" body, verbatim.
pub fn seed_agent_body() -> Value {
    json!({
        "name": "客服助手",
        "description": "智能客服 Agent",
        "model": "gpt-4",
        "systemPrompt": "你是一个专业的客服助手...",
        "skills": ["knowledge-base", "ticket-system"],
        "settings": {
            "temperature": 0.3,
            "maxTokens": 2048,
            "memoryEnabled": true
        }
    })
}

/// Runs `script` in `dir` under `flock`, so tests of both backends running in parallel install a tool once.
pub fn install_once(dir: &str, script: &str) {
    let status = std::process::Command::new("flock")
        .args([".install.lock", "sh", "-c", script])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "installing a test tool failed in {dir}: {script}");
}

/// Runs an external tool off the async runtime (the server under test keeps serving) and returns its report.
pub async fn run_tool(mut command: std::process::Command) -> (bool, String) {
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let report = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), report)
}
