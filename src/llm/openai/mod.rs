//! The OpenAI-compatible provider: `POST {base_url}/chat/completions`, streamed as server-sent events. It sticks to
//! what OpenAI, vLLM, Ollama, llama.cpp server and LM Studio all accept, so one implementation serves them all.
//!
//! A call fails fast and honestly: connection failures, 429 and 502-style errors are retried with exponential
//! backoff and jitter, but only while nothing has been delivered yet (a retried stream would repeat tokens), and
//! every failure maps to an [`LlmError`] that tells the user what went wrong without leaking the API key.
mod decode;
mod wire;

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use rand::Rng;
use reqwest::{StatusCode, header::HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::{ChatRequest, ChunkStream, LlmError, LlmProvider, ProviderConfig};

/// Where OpenAI itself lives, for configs that name no `base_url`.
const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The longest `Retry-After` we wait for: beyond it the user is better served by an error than by a silent wait.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Upstream error messages are cut to this many characters; some servers echo the whole prompt back.
const MAX_MESSAGE_CHARS: usize = 500;

/// A chat-completions client for one `[providers.<name>]` table.
pub struct OpenAiProvider {
    name: String,
    context_window: u32,
    url: String,
    api_key: Option<SecretString>,
    http: reqwest::Client,
    streaming: bool,
    stream_usage: bool,
    vision: bool,
    force_tool_choice: bool,
    first_token_timeout: Duration,
    idle_timeout: Duration,
    max_retries: u32,
    retry_base: Duration,
}

/// A failed attempt that may be retried, with the server's own idea of when to try again.
struct Retryable {
    error: LlmError,
    retry_after: Option<Duration>,
}

impl OpenAiProvider {
    /// Reads the API key now, so a missing variable stops the server at startup rather than failing every reply.
    ///
    /// The shared client is not used: reqwest sets the connect timeout per client, and each provider has its own.
    pub fn new(name: &str, config: &ProviderConfig, _shared: reqwest::Client) -> anyhow::Result<Self> {
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
        let url = format!("{base}/chat/completions");
        reqwest::Url::parse(&url).map_err(|error| anyhow::anyhow!("provider `{name}`: invalid base_url: {error}"))?;
        let api_key = match &config.api_key_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(key) if !key.is_empty() => Some(SecretString::from(key)),
                _ => anyhow::bail!("provider `{name}`: the environment variable `{var}` (api_key_env) is not set"),
            },
        };
        let http = reqwest::Client::builder().connect_timeout(config.connect_timeout()).build()?;
        Ok(Self {
            name: name.to_owned(),
            context_window: config.context_window,
            url,
            api_key,
            http,
            streaming: config.streaming,
            stream_usage: config.stream_usage,
            vision: config.vision,
            force_tool_choice: config.force_tool_choice,
            first_token_timeout: config.first_token_timeout(),
            idle_timeout: config.idle_timeout(),
            max_retries: config.max_retries,
            retry_base: Duration::from_millis(config.retry_base_ms),
        })
    }

    /// Sends the request until it is accepted (2xx headers) or retries run out. Returns the response and the
    /// deadline of the attempt that succeeded, which also bounds the wait for the first chunk.
    async fn send(&self, body: &wire::Request<'_>) -> Result<(reqwest::Response, Instant), LlmError> {
        let mut attempt = 0;
        loop {
            let deadline = Instant::now() + self.first_token_timeout;
            tracing::debug!(attempt, url = %self.url, "sending chat completion request");
            let mut request = self.http.post(&self.url).json(body);
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key.expose_secret());
            }
            let failure = match tokio::time::timeout_at(deadline, request.send()).await {
                Err(_) => {
                    let waited = self.first_token_timeout.as_millis();
                    return Err(LlmError::Timeout(format!("no response within {waited} ms")));
                }
                Ok(Ok(response)) if response.status().is_success() => return Ok((response, deadline)),
                Ok(Ok(response)) => self.rejection(response, deadline).await?,
                Ok(Err(error)) => Retryable { error: LlmError::Unreachable(error_chain(&error)), retry_after: None },
            };
            if attempt >= self.max_retries {
                return Err(failure.error);
            }
            let delay = retry_delay(self.retry_base, attempt, failure.retry_after);
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            tracing::warn!(attempt, delay_ms, error = %failure.error, "model call failed; retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Classifies a non-2xx response: `Ok` when it is worth retrying, `Err` when it is final.
    async fn rejection(&self, response: reqwest::Response, deadline: Instant) -> Result<Retryable, LlmError> {
        let status = response.status();
        let retry_after = retry_after(response.headers());
        // A body that does not arrive in time still leaves the status to report.
        let body = tokio::time::timeout_at(deadline, response.bytes()).await.ok().and_then(Result::ok);
        let message = self.scrub(&upstream_message(status, body.as_deref().unwrap_or_default()));
        let error = match status {
            StatusCode::TOO_MANY_REQUESTS => LlmError::RateLimited(message),
            StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => LlmError::Upstream(message),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(LlmError::Auth(message)),
            status if status.is_client_error() => return Err(LlmError::BadRequest(message)),
            _ => return Err(LlmError::Upstream(message)),
        };
        Ok(Retryable { error, retry_after })
    }

    /// Some servers echo the credentials they rejected; they must not reach logs or users through us.
    fn scrub(&self, message: &str) -> String {
        match &self.api_key {
            Some(key) if !key.expose_secret().is_empty() => message.replace(key.expose_secret(), "[redacted]"),
            _ => message.to_owned(),
        }
    }
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn context_window(&self) -> u32 {
        self.context_window
    }

    fn accepts_images(&self) -> bool {
        self.vision
    }

    fn forces_tool_choice(&self) -> bool {
        self.force_tool_choice
    }

    #[tracing::instrument(skip_all, fields(provider = %self.name, model = %request.model))]
    async fn stream(&self, request: ChatRequest) -> Result<ChunkStream, LlmError> {
        let body = wire::Request::new(&request, self.streaming, self.stream_usage);
        let (response, deadline) = self.send(&body).await?;
        // A server that ignores `stream: true` answers with one JSON completion; read it as such.
        if self.streaming && !is_json(response.headers()) {
            return Ok(decode::sse(response, deadline, self.idle_timeout));
        }
        let body = match tokio::time::timeout_at(deadline, response.bytes()).await {
            Err(_) => {
                return Err(LlmError::Timeout(format!("no reply within {} ms", self.first_token_timeout.as_millis())));
            }
            Ok(Err(error)) => {
                tracing::debug!(error = %error_chain(&error), "completion body broke off");
                return Err(LlmError::Incomplete);
            }
            Ok(Ok(body)) => body,
        };
        let chunks = decode::completion(&body)?;
        Ok(futures_util::stream::iter(chunks.into_iter().map(Ok)).boxed())
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"))
}

/// `HTTP <status>: <message>`, the message taken from the error body when the server sent a recognisable one.
fn upstream_message(status: StatusCode, body: &[u8]) -> String {
    let message = serde_json::from_slice(body)
        .ok()
        .and_then(|json| wire::error_message(&json))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    if message.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {}", truncate(&message)) }
}

/// The server's requested wait: OpenAI's `retry-after-ms`, else `Retry-After` in (possibly fractional) seconds.
/// The HTTP-date form is ignored; no compatible server is known to send it.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|n| n.is_finite());
    let seconds = number("retry-after-ms").map(|ms| ms / 1000.0).or_else(|| number("retry-after"))?;
    Some(Duration::from_secs_f64(seconds.clamp(0.0, MAX_RETRY_AFTER.as_secs_f64())))
}

/// `base · 2^attempt`, half of it jittered so clients that failed together do not retry together; a longer
/// `Retry-After` wins, capped at [`MAX_RETRY_AFTER`].
fn retry_delay(base: Duration, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let backoff = base.saturating_mul(1 << attempt.min(16)).min(MAX_RETRY_AFTER);
    let half = u64::try_from(backoff.as_millis() / 2).unwrap_or(u64::MAX);
    let jittered = Duration::from_millis(half + rand::rng().random_range(0..=half));
    retry_after.map_or(jittered, |wait| jittered.max(wait.min(MAX_RETRY_AFTER)))
}

/// At most [`MAX_MESSAGE_CHARS`] characters (never splitting one), with an ellipsis when cut.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// An error with its causes (`error sending request: client error (Connect): tcp connect error: refused`):
/// reqwest's top-level message alone rarely says what failed.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_or_milliseconds_and_capped() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after", "3600".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.insert("retry-after-ms", "250".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_longer_retry_after_wins_up_to_the_cap() {
        let base = Duration::from_millis(100);
        for attempt in 0..3 {
            let full = base * (1 << attempt);
            let delay = retry_delay(base, attempt, None);
            assert!(delay >= full / 2 && delay <= full, "attempt {attempt}: {delay:?}");
        }
        assert_eq!(retry_delay(base, 0, Some(Duration::from_secs(1))), Duration::from_secs(1));
        assert_eq!(retry_delay(base, 0, Some(Duration::from_secs(3600))), MAX_RETRY_AFTER);
        assert!(retry_delay(base, 40, None) <= MAX_RETRY_AFTER);
    }

    #[test]
    fn messages_are_truncated_on_a_char_boundary() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        let cut = truncate(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn error_bodies_of_every_known_shape_yield_their_message() {
        let openai = br#"{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}"#;
        assert_eq!(upstream_message(StatusCode::UNAUTHORIZED, openai), "HTTP 401 Unauthorized: Incorrect API key");
        let ollama = br#"{"error":"model 'x' not found"}"#;
        assert_eq!(upstream_message(StatusCode::NOT_FOUND, ollama), "HTTP 404 Not Found: model 'x' not found");
        let vllm = br#"{"object":"error","message":"too long","code":400}"#;
        assert_eq!(upstream_message(StatusCode::BAD_REQUEST, vllm), "HTTP 400 Bad Request: too long");
        assert_eq!(upstream_message(StatusCode::BAD_GATEWAY, b""), "HTTP 502 Bad Gateway");
        assert_eq!(
            upstream_message(StatusCode::BAD_GATEWAY, b"<html>oops</html>"),
            "HTTP 502 Bad Gateway: <html>oops</html>"
        );
    }
}
