//! Message-stream events (SPEC §5): the reply's lifecycle, token by token. Each has a `sequence` within its
//! reply's stream (1, 2, …), which is also its SSE `id:`, so a client resumes with `Last-Event-ID`.
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum StreamEventKind {
    MessageCreated,
    MessageDelta,
    ToolCall,
    ToolResult,
    MemoryRecalled,
    MessageCompleted,
    Error,
    Done,
}

impl StreamEventKind {
    /// The SSE `event:` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageCreated => "message.created",
            Self::MessageDelta => "message.delta",
            Self::ToolCall => "tool.call",
            Self::ToolResult => "tool.result",
            Self::MemoryRecalled => "memory.recalled",
            Self::MessageCompleted => "message.completed",
            Self::Error => "error",
            Self::Done => "done",
        }
    }
}

impl StreamEventKind {
    /// The events a reply's trace records (besides its text): tool calls, their results, memory recalls.
    pub const TRACED: [StreamEventKind; 3] = [Self::ToolCall, Self::ToolResult, Self::MemoryRecalled];

    pub fn parse(name: &str) -> Option<Self> {
        Self::TRACED.into_iter().find(|kind| kind.as_str() == name)
    }
}

#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub conversation_id: String,
    /// The reply this event belongs to.
    pub message_id: String,
    pub sequence: u64,
    pub kind: StreamEventKind,
    /// The SSE `data:` payload, e.g. `{"messageId","delta"}`.
    pub data: Value,
}

impl StreamEvent {
    /// A stable id: the reply's id and the sequence.
    pub fn id(&self) -> String {
        format!("{}:{}", self.message_id, self.sequence)
    }
}
