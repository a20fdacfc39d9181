//! The chat-completions wire format, as the common subset OpenAI, vLLM, Ollama, llama.cpp server and LM Studio
//! all speak. Requests are serialised with only the fields a server needs (optional ones are left out rather than
//! sent as `null`, because some servers reject unknown or null fields); responses are read leniently (every field
//! defaults, `null` is accepted wherever a server has been seen to send it) so one server's quirks do not break
//! another's.
use serde::{Deserialize, Serialize};

use crate::llm::{ChatMessage, ChatRequest, FinishReason, Role, ToolCall, ToolSpec, Usage};

/// The body of `POST /chat/completions`.
#[derive(Debug, Serialize)]
pub(super) struct Request<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoice<'a>>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

impl<'a> Request<'a> {
    /// `stream_usage` asks for the final usage chunk; it is only meaningful (and only sent) when streaming.
    pub(super) fn new(request: &'a ChatRequest, stream: bool, stream_usage: bool) -> Self {
        Self {
            model: &request.model,
            messages: request.messages.iter().map(Message::from).collect(),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            tools: request.tools.iter().map(Tool::from).collect(),
            tool_choice: request
                .tool_choice
                .as_deref()
                .map(|name| ToolChoice { r#type: "function", function: ToolName { name } }),
            stream,
            stream_options: (stream && stream_usage).then_some(StreamOptions { include_usage: true }),
        }
    }
}

/// `{"type": "function", "function": {"name": …}}`: the one form every server honours (llama.cpp ignores
/// `"auto"` and `"required"`).
#[derive(Debug, Serialize)]
struct ToolChoice<'a> {
    r#type: &'static str,
    function: ToolName<'a>,
}

#[derive(Debug, Serialize)]
struct ToolName<'a> {
    name: &'a str,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Debug, Serialize)]
struct Message<'a> {
    role: Role,
    /// Always present: an assistant turn that is nothing but tool calls sends `""`. OpenAI's SDKs send `null`
    /// there, but llama-cpp-python's server refuses a null assistant content (422) while every server takes `""`.
    content: Content<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<OutgoingToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

impl<'a> From<&'a ChatMessage> for Message<'a> {
    fn from(message: &'a ChatMessage) -> Self {
        Self {
            role: message.role,
            content: Content::of(message),
            tool_calls: message.tool_calls.iter().map(OutgoingToolCall::from).collect(),
            tool_call_id: message.tool_call_id.as_deref(),
        }
    }
}

/// A message's content: a string, or (with images) an array of text and `image_url` parts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(&'a str),
    Parts(Vec<Part<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Debug, Serialize)]
struct ImageUrl {
    url: String,
}

impl<'a> Content<'a> {
    fn of(message: &'a ChatMessage) -> Self {
        use base64::Engine as _;
        if message.images.is_empty() {
            return Self::Text(&message.content);
        }
        let images = message.images.iter().map(|image| Part::ImageUrl {
            image_url: ImageUrl {
                url: format!(
                    "data:{};base64,{}",
                    image.media_type,
                    base64::engine::general_purpose::STANDARD.encode(&image.data)
                ),
            },
        });
        Self::Parts(std::iter::once(Part::Text { text: &message.content }).chain(images).collect())
    }
}

#[derive(Debug, Serialize)]
struct OutgoingToolCall<'a> {
    id: &'a str,
    r#type: &'static str,
    function: OutgoingFunction<'a>,
}

#[derive(Debug, Serialize)]
struct OutgoingFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

impl<'a> From<&'a ToolCall> for OutgoingToolCall<'a> {
    fn from(call: &'a ToolCall) -> Self {
        Self {
            id: &call.id,
            r#type: "function",
            function: OutgoingFunction { name: &call.name, arguments: &call.arguments },
        }
    }
}

#[derive(Debug, Serialize)]
struct Tool<'a> {
    r#type: &'static str,
    function: FunctionSpec<'a>,
}

#[derive(Debug, Serialize)]
struct FunctionSpec<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

impl<'a> From<&'a ToolSpec> for Tool<'a> {
    fn from(tool: &'a ToolSpec) -> Self {
        Self {
            r#type: "function",
            function: FunctionSpec { name: &tool.name, description: &tool.description, parameters: &tool.parameters },
        }
    }
}

/// One `data:` event of a streamed completion (`chat.completion.chunk`), or an error object sent in its place.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StreamChunk {
    pub choices: Option<Vec<StreamChoice>>,
    pub usage: Option<WireUsage>,
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StreamChoice {
    pub delta: Option<Delta>,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Delta {
    pub content: Option<String>,
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// Part of a tool call. `index` is missing on some servers (older Ollama), which send each call whole.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ToolCallDelta {
    pub index: Option<u32>,
    pub id: Option<String>,
    pub function: Option<FunctionDelta>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct FunctionDelta {
    pub name: Option<String>,
    /// A string everywhere except some servers' non-streamed replies, which send the arguments as an object.
    pub arguments: Option<serde_json::Value>,
}

impl FunctionDelta {
    /// The arguments as JSON text, whichever way the server sent them.
    pub(super) fn arguments_text(&self) -> String {
        match &self.arguments {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WireUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl From<&WireUsage> for Usage {
    fn from(usage: &WireUsage) -> Self {
        Usage { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens }
    }
}

/// A whole non-streamed completion (`chat.completion`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Completion {
    pub choices: Option<Vec<CompletionChoice>>,
    pub usage: Option<WireUsage>,
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CompletionChoice {
    pub message: Option<CompletionMessage>,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CompletionMessage {
    pub content: Option<String>,
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// Unknown reasons (`eos`, legacy `function_call`…) count as a normal stop: the reply is complete either way.
pub(super) fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "length" => FinishReason::Length,
        "tool_calls" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// The human-readable message of an error body, whichever shape the server uses: OpenAI's
/// `{"error":{"message":..}}`, Ollama's `{"error":"..."}`, vLLM's top-level `{"message":..}`.
pub(super) fn error_message(body: &serde_json::Value) -> Option<String> {
    let error = body.get("error").unwrap_or(body);
    match error {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Object(map) => match map.get("message") {
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            _ => None,
        },
        _ => None,
    }
}
