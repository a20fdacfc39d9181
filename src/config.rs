//! Typed, layered configuration: defaults, then an optional TOML file, then `OPENCLAW_*` environment variables.
use std::{collections::BTreeMap, net::SocketAddr, path::Path, time::Duration};

use anyhow::Context;
use secrecy::SecretString;

use crate::llm::ProviderConfig;
use serde::Deserialize;

/// Server configuration. `Debug` never prints secrets (`SecretString` redacts itself).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, rename_all = "snake_case", deny_unknown_fields)]
pub struct Config {
    /// `sqlite://…` (embedded) or `postgres://…`.
    pub database_url: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// HS256 secret for access tokens. When unset a random one is generated per process (tokens die on restart).
    pub jwt_secret: Option<SecretString>,
    /// Lifetime of access tokens minted by `POST /v2/auth/token`, in seconds.
    pub jwt_ttl_secs: u64,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Maximum database connections in the pool (SQLite in-memory always uses one).
    pub db_max_connections: u32,
    /// GraphQL query depth and complexity limits.
    pub graphql_max_depth: usize,
    pub graphql_max_complexity: usize,
    /// Bounds on a GraphQL document checked before it is parsed or validated (see `graphql::document_limits`):
    /// its size in bytes, its lexical tokens, the nesting of its brackets (selection sets, arguments, list and
    /// object values) and of fragment spreads, and its fields with every fragment expanded.
    pub graphql_max_document_bytes: usize,
    pub graphql_max_tokens: usize,
    pub graphql_max_nesting: usize,
    pub graphql_max_fields: usize,
    /// How long a verified API key stays cached before it is looked up again (revocation delay on other processes).
    pub api_key_cache_secs: u64,
    /// Create a default account and print its key when the database has no accounts.
    pub bootstrap_account: bool,
    /// A WebSocket client (either protocol) must send `connection_init` within this time (else close 4408).
    pub ws_connection_init_timeout_ms: u64,
    /// Connections open at once (HTTP and WebSocket); past it no more are accepted until one closes.
    pub max_connections: usize,
    /// Event streams and WebSockets one account may hold open on this instance, whatever its plan.
    pub max_streams_per_account: usize,
    /// An HTTP/1 client must send a request's headers within this time; also how long an idle keep-alive
    /// connection is kept.
    pub http_header_read_timeout_ms: u64,
    /// A request body that sends nothing for this long is cut off.
    pub http_body_read_timeout_ms: u64,
    /// Model providers by name (`[providers.openai]`, `[providers.ollama]`…); an agent's `provider/name` model
    /// picks one. `echo` is always available.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Serves models whose provider is not configured (default `echo`, so a fresh install answers offline);
    /// empty string = refuse such models with a validation error.
    pub fallback_provider: String,
    /// Pace of the built-in `echo` model, per token.
    pub echo_token_delay_ms: u64,
    /// Longest accepted message `content`, in characters.
    pub max_message_chars: usize,
    /// How often an idle event stream gets a comment line, so proxies keep it open.
    pub stream_heartbeat_secs: u64,
    /// A streaming reply's text so far (with its delta offsets and tool trace) is saved to its message row after
    /// this many new stream events (deltas, tool calls and results)… Together with
    /// [`Self::stream_persist_interval_ms`] this bounds what a crash (`kill -9`) loses of a reply being generated:
    /// the events since the last save. `0` = no count trigger (time only).
    pub stream_persist_every_deltas: u64,
    /// … or this long after the first unsaved event, whichever comes first. The saves run on a task of their own,
    /// so a delta never waits for the database on its way to the client. `0` = no time trigger (count only); both
    /// `0` = no periodic saves (a crash then loses the whole reply text).
    pub stream_persist_interval_ms: u64,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl_secs: u64,
    /// While its request runs, a key is locked for this long and the lock renewed every third of it; the lock of
    /// a process that died lapses after it, and a retry then runs the request afresh.
    pub idempotency_lock_lease_secs: u64,
    /// Private, loopback and link-local addresses outbound requests (webhooks, callbacks, fetched files) may
    /// reach anyway: comma-separated hosts and CIDRs, e.g. `127.0.0.1/32,hooks.internal`.
    pub outbound_allowlist: String,
    /// One webhook attempt's time limit.
    pub webhook_timeout_secs: u64,
    /// Multiplies the retry schedule (about 3 days at 1.0); tests shrink it.
    pub webhook_retry_scale: f64,
    /// Attempts before a delivery has failed (1 + the schedule's 10 retries by default).
    pub webhook_max_attempts: u32,
    /// How long a worker owns a claimed delivery; a crashed worker's deliveries are re-sent after it.
    pub webhook_lease_secs: u64,
    /// An endpoint failing continuously for this long is disabled (`endpoint.disabled`).
    pub webhook_disable_after_secs: u64,
    /// Deliveries in flight at once on this instance.
    pub webhook_concurrency: usize,
    /// Deliveries of one account in flight at once on this instance, so one tenant's backlog to slow endpoints
    /// cannot take every sender (`webhook_concurrency`) and stall other tenants' webhooks.
    pub webhook_account_concurrency: usize,
    /// Deliveries to one endpoint (a webhook, or a task's callback URL) in flight at once on this instance, so a
    /// slow endpoint holds few senders and the account's other endpoints still get theirs.
    pub webhook_endpoint_concurrency: usize,
    /// Webhook endpoints one account may register (every event fans out to each of them); creating another is
    /// refused with `webhook_limit_reached`.
    pub webhook_max_endpoints_per_account: u64,
    /// How often the delivery worker looks for due retries and other instances' deliveries.
    pub webhook_poll_ms: u64,
    /// Task workers on this instance (0 = this instance runs no tasks).
    pub task_workers: usize,
    /// How long a worker owns a claimed task without renewing; a dead worker's task is re-claimed after it.
    pub task_lease_secs: u64,
    /// A task attempt's time limit, unless the task asks for less.
    pub task_timeout_secs: u64,
    /// Attempts of a task that failed for a retryable reason (a crash, a timeout).
    pub task_max_attempts: u32,
    /// How often idle task workers look for work queued by other instances.
    pub task_poll_ms: u64,
    /// Largest table an `analysis` task reads, in bytes.
    pub task_max_input_bytes: usize,
    /// Where stored files (task charts, uploads) are kept by the local storage backend.
    pub storage_dir: String,
    /// Largest accepted file upload, in bytes (streamed to storage, so memory does not grow with it).
    pub file_max_bytes: u64,
    /// Plan limits (`[plans.free]`, `[plans.pro]`, `[plans.enterprise]`); defaults are SPEC §7's.
    pub plans: crate::limits::PlanTable,
    /// Enforce rate, concurrency and quota limits (off: every request passes, nothing is counted).
    pub limits_enabled: bool,
    /// Share limiter state through Redis (`redis://127.0.0.1:6379`), so several instances enforce one limit.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so deployments (or test runs) sharing a Redis never collide.
    pub redis_key_prefix: String,
    /// When the limiter's store cannot be reached: let requests through (logged and counted) or refuse them (503).
    pub limits_fail_open: bool,
    /// Model calls one reply may make while the model keeps calling tools; past it the run fails with
    /// `tool_loop_limit` (a model that never stops calling tools cannot run forever).
    pub tool_max_steps: u32,
    /// One tool call's time limit (a hanging skill endpoint becomes a `tool_timeout` result for the model).
    pub tool_timeout_ms: u64,
    /// A tool result longer than this many characters is cut before the model sees it.
    pub tool_result_max_chars: usize,
    /// How often expired memories are deleted (reads never return them either way).
    pub memory_purge_interval_secs: u64,
    /// Memories recalled into a run's prompt when the agent has memory enabled.
    pub memory_recall_limit: u64,
    /// With embeddings, a memory is recalled by meaning only when its cosine similarity to the message reaches
    /// this. Model-specific, so off (0) by default: multilingual-e5-small rates unrelated text 0.72-0.75 and related
    /// text from 0.76; OpenAI's text-embedding-3 models sit much lower. Full-text matches are recalled regardless.
    pub memory_recall_min_similarity: f64,
    /// The `web-search` skill's backend: `none` (the tool says search is unavailable), `searxng` (the JSON API of
    /// the instance at `web_search_url`) or `brave` (Brave Search API, key in the variable `web_search_api_key_env`).
    pub web_search_backend: String,
    pub web_search_url: Option<String>,
    pub web_search_api_key_env: Option<String>,
    /// Semantic memory search: an OpenAI-compatible embeddings endpoint (`…/v1`; unset = full-text only), the model
    /// that embeds memories, the one that embeds queries (default: the same), and the variable holding the key.
    pub embeddings_url: Option<String>,
    pub embeddings_model: String,
    pub embeddings_query_model: Option<String>,
    pub embeddings_api_key_env: Option<String>,
    /// The program run as `<command> extract …` to read HTML and PDF files in a separate, limited process; unset
    /// = this server's own binary (tests point it at the built `openclaw`, since they serve from the test binary).
    pub extract_command: Option<String>,
    /// Longest one file's text extraction may take, in milliseconds (wall clock; the process is killed then). The
    /// extraction process also gets this, rounded up plus one second, as its processor-time limit.
    pub extract_timeout_ms: u64,
    /// Address space of the process reading an HTML or PDF file, in bytes: past it an allocation fails and the
    /// file is refused (`extraction_limit`). A PDF whose compressed streams inflate to more than a quarter of this
    /// is refused before it is parsed.
    pub extract_max_memory_bytes: u64,
    /// Longest text an HTML or PDF file may yield, in characters: an attachment's text is cut there, a knowledge
    /// file with more is refused (`extraction_limit`).
    pub extract_max_output_chars: usize,
    /// HTML whose elements nest deeper than this is refused before it is rendered (rendering deep markup is
    /// superlinear). Browsers stop nesting at 512.
    pub extract_max_html_depth: usize,
    /// Extractions running at once on this instance (0 = one per processor); the others wait their turn.
    pub extract_concurrency: usize,
    /// The limiter's clock: the system's, or a manual one injected by tests.
    #[serde(skip)]
    pub clock: crate::limits::Clock,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://openclaw.db?mode=rwc".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            jwt_secret: None,
            jwt_ttl_secs: 900,
            body_limit_bytes: 1024 * 1024,
            db_max_connections: 16,
            graphql_max_depth: 16,
            graphql_max_complexity: 5000,
            graphql_max_document_bytes: 100_000,
            graphql_max_tokens: 15_000,
            graphql_max_nesting: 64,
            graphql_max_fields: 2_000,
            api_key_cache_secs: 30,
            bootstrap_account: true,
            ws_connection_init_timeout_ms: 10_000,
            max_connections: 10_000,
            max_streams_per_account: 256,
            http_header_read_timeout_ms: 30_000,
            http_body_read_timeout_ms: 30_000,
            providers: BTreeMap::new(),
            fallback_provider: "echo".to_owned(),
            echo_token_delay_ms: 20,
            max_message_chars: 32_000,
            stream_heartbeat_secs: 15,
            stream_persist_every_deltas: 32,
            stream_persist_interval_ms: 1_000,
            idempotency_ttl_secs: 24 * 3600,
            idempotency_lock_lease_secs: 30,
            outbound_allowlist: String::new(),
            webhook_timeout_secs: 10,
            webhook_retry_scale: 1.0,
            webhook_max_attempts: 11,
            webhook_lease_secs: 60,
            webhook_disable_after_secs: 5 * 24 * 3600,
            webhook_concurrency: 32,
            webhook_account_concurrency: 8,
            webhook_endpoint_concurrency: 4,
            webhook_max_endpoints_per_account: 50,
            webhook_poll_ms: 1000,
            task_workers: 4,
            task_lease_secs: 60,
            task_timeout_secs: 600,
            task_max_attempts: 3,
            task_poll_ms: 1000,
            task_max_input_bytes: 50 * 1024 * 1024,
            storage_dir: "openclaw-data".to_owned(),
            file_max_bytes: 512 * 1024 * 1024,
            plans: crate::limits::PlanTable::default(),
            limits_enabled: true,
            redis_url: None,
            redis_key_prefix: "openclaw:".to_owned(),
            limits_fail_open: true,
            memory_purge_interval_secs: 300,
            memory_recall_limit: 5,
            memory_recall_min_similarity: 0.0,
            embeddings_url: None,
            embeddings_model: "text-embedding-3-small".to_owned(),
            embeddings_query_model: None,
            embeddings_api_key_env: None,
            web_search_backend: "none".to_owned(),
            web_search_url: None,
            web_search_api_key_env: None,
            tool_max_steps: 8,
            tool_timeout_ms: 30_000,
            tool_result_max_chars: 16_000,
            extract_command: None,
            extract_timeout_ms: 30_000,
            extract_max_memory_bytes: 512 * 1024 * 1024,
            extract_max_output_chars: 16 * 1024 * 1024,
            extract_max_html_depth: 512,
            extract_concurrency: 0,
            clock: crate::limits::Clock::default(),
        }
    }
}

/// Environment variables read on top of the file. Each is `OPENCLAW_` + the field name in upper case.
const ENV_KEYS: &[&str] = &[
    "database_url",
    "listen",
    "jwt_secret",
    "jwt_ttl_secs",
    "body_limit_bytes",
    "db_max_connections",
    "graphql_max_depth",
    "graphql_max_complexity",
    "graphql_max_document_bytes",
    "graphql_max_tokens",
    "graphql_max_nesting",
    "graphql_max_fields",
    "api_key_cache_secs",
    "bootstrap_account",
    "ws_connection_init_timeout_ms",
    "max_connections",
    "max_streams_per_account",
    "http_header_read_timeout_ms",
    "http_body_read_timeout_ms",
    "fallback_provider",
    "echo_token_delay_ms",
    "max_message_chars",
    "stream_heartbeat_secs",
    "stream_persist_every_deltas",
    "stream_persist_interval_ms",
    "idempotency_ttl_secs",
    "idempotency_lock_lease_secs",
    "outbound_allowlist",
    "webhook_timeout_secs",
    "webhook_retry_scale",
    "webhook_max_attempts",
    "webhook_lease_secs",
    "webhook_disable_after_secs",
    "webhook_concurrency",
    "webhook_account_concurrency",
    "webhook_endpoint_concurrency",
    "webhook_max_endpoints_per_account",
    "webhook_poll_ms",
    "task_workers",
    "task_lease_secs",
    "task_timeout_secs",
    "task_max_attempts",
    "task_poll_ms",
    "task_max_input_bytes",
    "storage_dir",
    "file_max_bytes",
    "limits_enabled",
    "redis_url",
    "redis_key_prefix",
    "limits_fail_open",
    "memory_purge_interval_secs",
    "memory_recall_limit",
    "memory_recall_min_similarity",
    "tool_max_steps",
    "embeddings_url",
    "embeddings_model",
    "embeddings_query_model",
    "embeddings_api_key_env",
    "web_search_backend",
    "web_search_url",
    "web_search_api_key_env",
    "tool_timeout_ms",
    "tool_result_max_chars",
    "extract_command",
    "extract_timeout_ms",
    "extract_max_memory_bytes",
    "extract_max_output_chars",
    "extract_max_html_depth",
    "extract_concurrency",
];

impl Config {
    /// Loads defaults → `file` (if given, or `OPENCLAW_CONFIG`) → environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let env_file = std::env::var("OPENCLAW_CONFIG").ok();
        let file = file.map(Path::to_path_buf).or(env_file.map(Into::into));
        let mut table = match &file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
                text.parse::<toml::Table>().with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => toml::Table::new(),
        };
        for key in ENV_KEYS {
            let var = format!("OPENCLAW_{}", key.to_uppercase());
            if let Ok(raw) = std::env::var(&var) {
                table.insert((*key).to_owned(), env_value(&raw));
            }
        }
        toml::Value::Table(table).try_into().context("invalid configuration (file or OPENCLAW_* environment)")
    }

    /// The fallback provider's name, if falling back is enabled.
    pub fn fallback(&self) -> Option<String> {
        Some(self.fallback_provider.clone()).filter(|name| !name.is_empty())
    }

    /// How long a JSON body (at most `body_limit_bytes`) may take to arrive in all: the stall timeout, so a body
    /// that trickles in never holds a request longer than one that stops.
    pub fn body_deadline(&self) -> Duration {
        Duration::from_millis(self.http_body_read_timeout_ms.max(1))
    }

    /// The bounds of the server loop.
    pub fn connection_limits(&self) -> crate::server::ConnectionLimits {
        crate::server::ConnectionLimits {
            max_connections: self.max_connections,
            header_read_timeout: Duration::from_millis(self.http_header_read_timeout_ms.max(1)),
        }
    }

    pub fn jwt_ttl(&self) -> Duration {
        Duration::from_secs(self.jwt_ttl_secs)
    }
}

/// Environment values are strings; numbers and booleans are recognised so that typed fields deserialize.
fn env_value(raw: &str) -> toml::Value {
    if let Ok(n) = raw.parse::<i64>() {
        return toml::Value::Integer(n);
    }
    if raw.contains('.')
        && let Ok(x) = raw.parse::<f64>()
        && raw.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return toml::Value::Float(x);
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_typed() {
        assert_eq!(env_value("42"), toml::Value::Integer(42));
        assert_eq!(env_value("false"), toml::Value::Boolean(false));
        assert_eq!(env_value("sqlite::memory:"), toml::Value::String("sqlite::memory:".into()));
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("openclaw-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("openclaw.toml");
        std::fs::write(&path, "database_url = \"postgres://db/x\"\njwt_ttl_secs = 60\n").expect("write");
        let config = Config::load(Some(&path)).expect("load");
        assert_eq!(config.database_url, "postgres://db/x");
        assert_eq!(config.jwt_ttl_secs, 60);
        assert_eq!(config.listen, Config::default().listen);

        std::fs::write(&path, "no_such_setting = 1\n").expect("write");
        assert!(Config::load(Some(&path)).is_err(), "unknown settings are refused, not ignored");
    }

    #[test]
    fn debug_redacts_the_jwt_secret() {
        let config = Config { jwt_secret: Some("hunter2-very-secret".to_owned().into()), ..Config::default() };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
