//! Model providers: one trait that streams a chat completion (text deltas, tool-call deltas, usage), a registry
//! that resolves an agent's `(provider, name)` to a provider, the built-in `echo` development model and the
//! OpenAI-compatible provider (OpenAI, vLLM, Ollama, llama.cpp, LM Studio).
//!
//! Cancellation is by drop: the run loop stops polling the stream (and drops it) when a reply is cancelled, which
//! closes the upstream connection.
pub mod echo;
pub mod embeddings;
pub mod openai;
mod registry;
pub mod tokens;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use registry::{ProviderConfig, ProviderKind, Registry, Resolved};

/// Who said a message in a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One message of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    /// Tool calls the assistant made (assistant messages only).
    pub tool_calls: Vec<ToolCall>,
    /// The call this message answers (tool messages only).
    pub tool_call_id: Option<String>,
    /// Images attached to a user message, for providers that accept image parts.
    pub images: Vec<Image>,
}

/// An image given to the model: its media type and bytes (sent as a `data:` URL).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub media_type: String,
    pub data: bytes::Bytes,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None, images: Vec::new() }
    }
}

/// A tool the model may call: name, description and JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// A complete tool call (arguments as the JSON text the model produced).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// What a provider is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model name as the provider knows it (`gpt-4`, `llama3.1:8b`).
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub tools: Vec<ToolSpec>,
    /// A tool the model must call (`tool_choice` naming a function); `None` lets the model choose.
    pub tool_choice: Option<String>,
}

/// Token counts of one model call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

/// One piece of a streamed completion.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// Text to append to the reply.
    Delta(String),
    /// Part of tool call number `index`: the first part carries `id` and `name`, later parts more `arguments`.
    ToolCallDelta {
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    /// Token counts (usually last; some servers never send them, see [`tokens`]).
    Usage(Usage),
    Finish(FinishReason),
}

/// How a model call failed, in terms the API reports (`code` is the wire code of the stored error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// Could not connect, or the connection broke.
    #[error("the model provider is unreachable: {0}")]
    Unreachable(String),
    /// No first token / no next chunk within the timeout.
    #[error("the model provider timed out: {0}")]
    Timeout(String),
    /// The provider refused our credentials (401/403).
    #[error("the model provider rejected the credentials: {0}")]
    Auth(String),
    /// The provider is rate limiting us (429) and retries were exhausted.
    #[error("the model provider is rate limiting requests: {0}")]
    RateLimited(String),
    /// The provider rejected the request (400/404/422: unknown model, context too long…).
    #[error("the model provider rejected the request: {0}")]
    BadRequest(String),
    /// 5xx after retries, or a malformed response.
    #[error("the model provider failed: {0}")]
    Upstream(String),
    /// The stream ended without finishing (no `[DONE]`, no finish reason).
    #[error("the model provider closed the stream before the reply was complete")]
    Incomplete,
}

impl LlmError {
    /// The snake_case code stored with a failed reply and sent in the stream's `error` event.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "upstream_unreachable",
            Self::Timeout(_) => "upstream_timeout",
            Self::Auth(_) => "upstream_auth_failed",
            Self::RateLimited(_) => "upstream_rate_limited",
            Self::BadRequest(_) => "upstream_bad_request",
            Self::Upstream(_) => "upstream_error",
            Self::Incomplete => "upstream_incomplete",
        }
    }
}

pub type ChunkStream = BoxStream<'static, Result<Chunk, LlmError>>;

/// A model provider. `stream` resolves once the provider has accepted the request (retries happen before that);
/// the stream then yields chunks until it ends. Dropping the stream cancels the call.
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// How the provider is named in config and in stored messages (`echo`, `openai`, `ollama`).
    fn name(&self) -> &str;
    /// How many tokens the model can see at once (prompt + reply), for trimming history.
    fn context_window(&self) -> u32;
    /// Whether image parts may be sent (vision models); others get a note in their place.
    fn accepts_images(&self) -> bool {
        false
    }
    /// Whether the server ignores `tool_choice: "auto"` (llama.cpp's default chat format does): the run then names
    /// the tool on a reply's first model call when the agent offers exactly one.
    fn forces_tool_choice(&self) -> bool {
        false
    }
    /// Starts a streamed completion.
    async fn stream(&self, request: ChatRequest) -> Result<ChunkStream, LlmError>;
}
