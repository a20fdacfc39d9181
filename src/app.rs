//! Application state, the router, and `run(listener, shutdown)` (tests bind port 0 and call it directly).
use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use rand::RngCore;
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::{
    auth::{Authenticator, jwt::JwtKeys},
    config::Config,
    db::{self, Db, QueryCounter},
    events::{Event, EventBus, EventKind, InMemoryBus},
    graphql::{self, AppSchema, documents::DocumentCache},
    limits::{LimitStore, Limiter, MemoryStore, redis::RedisStore},
    llm,
    outbound::{Allowlist, OutboundGuard},
    rest::{self, CompiledRoutes, problem},
    runs::Runs,
    services,
    storage::{FileStorage, LocalStorage},
    tasks::TaskWorkers,
    webhooks::DeliveryWorker,
};

/// Shared state: cheap to clone, everything behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub auth: Arc<Authenticator>,
    pub events: Arc<dyn EventBus>,
    pub queries: QueryCounter,
    /// Model providers by name.
    pub llm: Arc<llm::Registry>,
    /// Replies being generated (or queued) on this instance.
    pub runs: Arc<Runs>,
    /// The one way to reach user-supplied URLs (webhooks, callbacks, fetched files), SSRF-guarded.
    pub outbound: OutboundGuard,
    /// The webhook delivery worker's wake-up.
    pub deliveries: Arc<DeliveryWorker>,
    /// The task workers' wake-up and cancel switch.
    pub tasks: Arc<TaskWorkers>,
    /// Where file bytes live.
    pub storage: Arc<dyn FileStorage>,
    /// Rate, concurrency and quota limits per plan.
    pub limiter: Arc<Limiter>,
    /// Open event streams and WebSockets per account (a cap whatever the plan).
    pub streams: Arc<crate::limits::streams::StreamCounter>,
    /// Embeds memories and queries for semantic search, when configured.
    pub embedder: Option<Arc<llm::embeddings::Embedder>>,
    /// Reads the text of uploaded and attached files, within the `extract_*` limits.
    pub extractor: Arc<crate::extract::Extractor>,
}

/// What axum handlers see: the state plus the built schema and the compiled REST table.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AppSchema,
    /// Parsed documents of the GraphQL endpoint.
    pub documents: Arc<DocumentCache>,
    /// `/v2/openapi.json`, serialized once.
    pub openapi: axum::body::Bytes,
    /// The finished router, for `POST /v2/batch` to send its operations through (set once it is built).
    pub router: Arc<std::sync::OnceLock<Router>>,
}

impl AppState {
    /// Connects, migrates and wires the services. Does not bootstrap accounts (see [`bootstrap`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (pool, queries) = db::connect(&config).await?;
        db::migrate(&pool).await?;
        let db = Db::from(pool.clone());
        let secret = match &config.jwt_secret {
            Some(secret) => secret.expose_secret().as_bytes().to_vec(),
            None => {
                tracing::warn!(
                    "OPENCLAW_JWT_SECRET is not set: using a random secret; access tokens end with this process"
                );
                let mut bytes = vec![0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                bytes
            }
        };
        let auth = Authenticator::new(pool, JwtKeys::new(&secret), Duration::from_secs(config.api_key_cache_secs));
        let llm = llm::Registry::from_config(
            &config.providers,
            config.fallback(),
            Duration::from_millis(config.echo_token_delay_ms),
        )?;
        let interrupted = services::messages::fail_interrupted(&db).await.map_err(|e| anyhow::anyhow!(e))?;
        if interrupted > 0 {
            tracing::warn!(interrupted, "replies left unfinished by the previous process were marked failed");
        }
        let allowlist = Allowlist::parse(&config.outbound_allowlist)
            .map_err(|e| anyhow::anyhow!("OPENCLAW_OUTBOUND_ALLOWLIST: {e}"))?;
        config.plans.validate().map_err(|e| anyhow::anyhow!("invalid plan table: {e}"))?;
        let store: Arc<dyn LimitStore> = match &config.redis_url {
            Some(url) => Arc::new(RedisStore::new(url, config.clock.clone(), crate::limits::SLOT_TTL_MS)?),
            None => Arc::new(MemoryStore::default()),
        };
        let limiter = Limiter::new(
            store,
            config.clock.clone(),
            config.plans.clone(),
            config.limits_enabled,
            config.limits_fail_open,
            config.redis_key_prefix.clone(),
        );
        spawn_janitor(db.clone(), Duration::from_secs(config.memory_purge_interval_secs.max(1)));
        let embedder = llm::embeddings::Embedder::from_config(&config)?.map(Arc::new);
        let storage = Arc::new(LocalStorage::new(std::path::Path::new(&config.storage_dir).join("files")));
        let extractor = Arc::new(crate::extract::Extractor::from_config(&config)?);
        let streams = Arc::new(crate::limits::streams::StreamCounter::new(config.max_streams_per_account));
        let state = Self {
            db,
            config: Arc::new(config),
            auth: Arc::new(auth),
            events: Arc::new(InMemoryBus::new(4096)),
            queries,
            llm: Arc::new(llm),
            runs: Arc::new(Runs::default()),
            outbound: OutboundGuard::new(allowlist),
            deliveries: Arc::new(DeliveryWorker::default()),
            tasks: Arc::new(TaskWorkers::default()),
            storage,
            limiter: Arc::new(limiter),
            streams,
            embedder,
            extractor,
        };
        crate::webhooks::worker::spawn(state.clone());
        crate::tasks::spawn(state.clone());
        Ok(state)
    }

    /// Publishes a committed event: to subscribers on the bus, and a nudge to the workers that act on it (its
    /// webhook deliveries are already in the outbox; a new task is waiting in the queue).
    pub fn publish(&self, event: Event) {
        let kind = event.kind;
        self.events.publish(event);
        self.deliveries.wake();
        if kind == EventKind::TaskCreated {
            self.tasks.wake();
        }
    }
}

/// Periodic clean-up: expired idempotency keys (hourly) and expired memories (every `memory_every`; reads already
/// skip them, the purge frees the space).
fn spawn_janitor(db: Db, memory_every: Duration) {
    let keys_db = db.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match services::idempotency::purge_expired(&keys_db).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency keys removed"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "purging idempotency keys failed"),
            }
        }
    });
    tokio::spawn(async move {
        // The first purge waits one period: nothing has expired in a process that just started.
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + memory_every, memory_every);
        loop {
            every.tick().await;
            match services::memories::purge_expired(&db, chrono::Utc::now()).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired memories removed"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "purging memories failed"),
            }
        }
    });
}

/// On first start with no accounts, creates `default` and returns its API key (to be printed once).
pub async fn bootstrap(state: &AppState) -> anyhow::Result<Option<String>> {
    if !state.config.bootstrap_account {
        return Ok(None);
    }
    services::accounts::bootstrap(&state.db).await.map_err(|e| anyhow::anyhow!(e.public_message()))
}

/// Request ids look like `req_0193…`: time-ordered, so logs sort.
#[derive(Clone, Copy)]
struct MakeReqId;

impl MakeRequestId for MakeReqId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&format!("req_{}", uuid::Uuid::now_v7().simple())).ok().map(RequestId::new)
    }
}

/// Whether a client's `X-Request-Id` may be kept: it is echoed into responses, error bodies and every log line of
/// the request, so only a short, plain token is (1-128 of `A-Z a-z 0-9 . _ : -`).
fn acceptable_request_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

async fn drop_unacceptable_request_id(mut request: Request) -> Request {
    let mut ids = request.headers().get_all("x-request-id").iter();
    let keep = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => acceptable_request_id(id.as_bytes()),
        // Several ids are as unusable as a bad one: which would the logs and the response carry?
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove("x-request-id");
    }
    request
}

async fn no_sniffing(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(axum::http::header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}

pub fn build_router(state: AppState) -> anyhow::Result<Router> {
    let schema = graphql::build_schema(state.clone());
    let routes = Arc::new(CompiledRoutes::compile()?);
    let openapi_json = axum::body::Bytes::from(serde_json::to_vec(&rest::openapi::document())?);
    let document_limits = graphql::document_limits::DocumentLimits::from_config(&state.config);
    let http_state = HttpState {
        app: state,
        schema,
        documents: Arc::new(DocumentCache::new(1024, document_limits)),
        openapi: openapi_json,
        router: Arc::new(std::sync::OnceLock::new()),
    };
    let batch_router = http_state.router.clone();
    let graphql_routes = Router::new()
        .route(
            "/v2/graphql",
            get(graphql::http::graphql_http).post(graphql::http::graphql_http).fallback(graphql::http::graphql_http),
        )
        .route(
            "/graphql",
            get(graphql::http::graphql_http).post(graphql::http::graphql_http).fallback(graphql::http::graphql_http),
        )
        .route("/v2/graphql/ws", get(graphql::ws::graphql_ws));
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v2/openapi.json", get(openapi))
        .route("/v2/batch", axum::routing::post(rest::batch::batch))
        .route("/v2/files", axum::routing::post(crate::rest::files::upload))
        .route("/v2/files/{fileId}/content", get(crate::rest::files::content))
        .merge(graphql_routes)
        .merge(rest::router(routes))
        .merge(crate::playground::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(http_state.clone(), crate::limits::layer::enforce))
        // A client that stops sending its body mid-way is cut off instead of holding the request open.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(Duration::from_millis(
            http_state.app.config.http_body_read_timeout_ms,
        )))
        .with_state(http_state)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                })
                // One access-log line per request.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeReqId))
        // Outermost: an unacceptable client id is dropped before `SetRequestIdLayer`, which then makes a fresh one.
        .layer(axum::middleware::map_request(drop_unacceptable_request_id))
        // No response is ever meant to be content-sniffed (JSON, SSE, uploaded files under their stated type).
        .layer(axum::middleware::map_response(no_sniffing));
    let _ = batch_router.set(router.clone());
    Ok(router)
}

/// Serves until `shutdown` resolves, then drains in-flight requests, with the default connection bounds.
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with(listener, router, Config::default().connection_limits(), shutdown).await
}

/// [`run`] with the connection bounds of a configuration (see [`crate::server`]).
pub async fn run_with(
    listener: TcpListener,
    router: Router,
    limits: crate::server::ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::server::serve(listener, router, limits, shutdown, SHUTDOWN_GRACE).await
}

/// How long a shutdown waits for in-flight requests and open streams.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<HttpState>) -> Response {
    match state.app.db.ping().await {
        Ok(()) => Json(json!({ "status": "ready", "database": "ok" })).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "unreachable" })))
                .into_response()
        }
    }
}

async fn openapi(State(state): State<HttpState>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], state.openapi).into_response()
}

async fn not_found(headers: HeaderMap) -> Response {
    problem::problem(StatusCode::NOT_FOUND, "route_not_found", "no such route", None, problem::request_id(&headers))
}

#[cfg(test)]
mod tests {
    use super::acceptable_request_id;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        for ok in ["a", "req_0193abc", "client-1.2:3", &"x".repeat(128)] {
            assert!(acceptable_request_id(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "a b", "a\tb", "<script>", "réq", "a/b", &"x".repeat(129)] {
            assert!(!acceptable_request_id(bad.as_bytes()), "{bad}");
        }
    }
}
