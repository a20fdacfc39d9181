//! `Conversation`, `Message` and the message-stream `StreamEvent`, shaped as SPEC §3 and §5.
use async_graphql::{ComplexObject, Context, Enum, ID, Json, Object, SimpleObject};
use serde_json::Value;

use crate::{
    events::{StreamEvent as BusStreamEvent, StreamEventKind},
    graphql::{context::ContextExt, errors::GqlResultExt, scalars::DateTime},
    services::{cursor::CursorInfo, messages},
};
use entity::{conversation, message};

pub struct Conversation(pub conversation::Model);

/// Who the conversation is with, as given at creation.
#[derive(SimpleObject)]
pub struct ConversationContext {
    pub user_id: Option<String>,
    pub metadata: Json<Value>,
}

/// Overrides of the agent's model settings (null = as the agent).
#[derive(SimpleObject)]
pub struct ConversationSettings {
    /// `provider/name`.
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
}

#[Object]
impl Conversation {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn agent_id(&self) -> ID {
        ID(self.0.agent_id.clone())
    }
    async fn context(&self) -> ConversationContext {
        ConversationContext { user_id: self.0.user_id.clone(), metadata: Json(self.0.metadata.clone()) }
    }
    async fn settings(&self) -> ConversationSettings {
        let model = match (&self.0.model_provider, &self.0.model_name) {
            (Some(p), Some(n)) => Some(format!("{p}/{n}")),
            _ => None,
        };
        ConversationSettings { model, temperature: self.0.temperature, max_tokens: self.0.max_tokens }
    }
    /// `active` or `archived`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// The reply being generated right now, if any.
    async fn active_reply_id(&self) -> Option<ID> {
        self.0.active_reply_id.clone().map(ID)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// One message of this conversation (`not_found` if it belongs to another).
    async fn message(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Message> {
        self.find(ctx, &id, None).await
    }
    /// One of the agent's replies in this conversation (`not_found` for user messages and other conversations).
    async fn reply(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Message> {
        self.find(ctx, &id, Some("assistant")).await
    }
}

impl Conversation {
    async fn find(&self, ctx: &Context<'_>, id: &str, role: Option<&str>) -> async_graphql::Result<Message> {
        let db = ctx.db().gql()?;
        let found = messages::get(db, &self.0.account_id, id).await.gql()?;
        if found.conversation_id != self.0.id || role.is_some_and(|r| r != found.role) {
            let resource = if role.is_some() { "reply" } else { "message" };
            return Err(crate::error::AppError::NotFound { resource }.into_graphql());
        }
        Ok(Message(found))
    }
}

/// A page of a cursor list.
#[derive(SimpleObject, Clone)]
pub struct CursorPagination {
    pub limit: u64,
    pub has_more: bool,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<CursorInfo> for CursorPagination {
    fn from(info: CursorInfo) -> Self {
        Self { limit: info.limit, has_more: info.has_more, next_cursor: info.next_cursor }
    }
}

#[derive(SimpleObject)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    pub pagination: CursorPagination,
}

#[derive(SimpleObject)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub pagination: CursorPagination,
}

pub struct Message(pub message::Model);

/// A tool call of a reply (the `tool.call` and `tool.result` stream events, joined).
pub struct ToolCallRecord(pub crate::runs::payload::ToolCallRecord);

#[Object]
impl ToolCallRecord {
    /// The model's call id.
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The skill that offers the tool (null for a tool the agent does not have).
    async fn skill_id(&self) -> Option<&str> {
        self.0.skill_id.as_deref()
    }
    /// As the model sent them: JSON, or the raw text when it was not JSON.
    async fn arguments(&self) -> Json<Value> {
        Json(self.0.arguments.clone())
    }
    /// Null when the call failed.
    async fn result(&self) -> Json<Value> {
        Json(self.0.result.clone())
    }
    /// `{"code","message"}` when the call failed, else null.
    async fn error(&self) -> Json<Value> {
        Json(self.0.error.clone())
    }
    async fn duration_ms(&self) -> Option<u64> {
        self.0.duration_ms
    }
}

#[derive(SimpleObject)]
pub struct Attachment {
    #[graphql(name = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub file_id: Option<String>,
}

/// Tokens of the model call that produced a reply.
#[derive(SimpleObject)]
pub struct TokenUsage {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
}

/// Why a reply failed.
#[derive(SimpleObject)]
pub struct MessageError {
    pub code: String,
    pub message: String,
}

#[Object]
impl Message {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn conversation_id(&self) -> ID {
        ID(self.0.conversation_id.clone())
    }
    /// `user` or `assistant`.
    async fn role(&self) -> &str {
        &self.0.role
    }
    async fn content(&self) -> &str {
        &self.0.content
    }
    /// Replies: `queued`, `in_progress`, `completed`, `failed` or `cancelled`; user messages: `completed`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn attachments(&self) -> Vec<Attachment> {
        let items = self.0.attachments.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
        let text = |a: &Value, key: &str| a.get(key).and_then(Value::as_str).map(str::to_owned);
        items
            .iter()
            .map(|a| Attachment { kind: text(a, "type"), url: text(a, "url"), file_id: text(a, "fileId") })
            .collect()
    }
    /// `provider/model` that produced a reply.
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    async fn usage(&self) -> Option<TokenUsage> {
        match (self.0.prompt_tokens, self.0.completion_tokens) {
            (Some(p), Some(c)) => Some(TokenUsage { prompt_tokens: p, completion_tokens: c, total_tokens: p + c }),
            _ => None,
        }
    }
    /// The tools the model called while writing this reply, in order, with their results.
    async fn tool_calls(&self) -> Vec<ToolCallRecord> {
        crate::runs::payload::tool_calls(&self.0).into_iter().map(ToolCallRecord).collect()
    }
    /// `stop`, `length`, `tool_calls` or `content_filter`.
    async fn finish_reason(&self) -> Option<&str> {
        self.0.finish_reason.as_deref()
    }
    async fn error(&self) -> Option<MessageError> {
        let error = self.0.error.as_ref()?;
        let text = |key: &str| error.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        Some(MessageError { code: text("code"), message: text("message") })
    }
    /// For a reply: the user message it answers.
    async fn reply_to(&self) -> Option<ID> {
        self.0.reply_to.clone().map(ID)
    }
    /// For a user message: the reply it gets.
    async fn reply_id(&self) -> Option<ID> {
        self.0.reply_id.clone().map(ID)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
}

/// One event of a reply's stream (SPEC §5).
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct StreamEvent {
    /// Stable id: `<messageId>:<sequence>`.
    pub id: ID,
    /// Position in the reply's stream, from 1; the SSE `id:`. Resume with `after: sequence`.
    pub sequence: u64,
    #[graphql(name = "type")]
    pub kind: StreamEventKind,
    pub conversation_id: ID,
    pub message_id: ID,
    /// The SSE payload of this event (e.g. `{"messageId","delta"}`).
    pub data: Json<Value>,
}

#[ComplexObject]
impl StreamEvent {
    /// The SSE event name: `message.created`, `message.delta`, `tool.call`, `tool.result`, `message.completed`,
    /// `error`, `done`.
    async fn event(&self) -> &'static str {
        self.kind.as_str()
    }
    /// The text appended by a `message.delta`.
    async fn delta(&self) -> Option<&str> {
        self.data.0.get("delta").and_then(Value::as_str)
    }
}

impl From<&BusStreamEvent> for StreamEvent {
    fn from(event: &BusStreamEvent) -> Self {
        Self {
            id: ID(event.id()),
            sequence: event.sequence,
            kind: event.kind,
            conversation_id: ID(event.conversation_id.clone()),
            message_id: ID(event.message_id.clone()),
            data: Json(event.data.clone()),
        }
    }
}

/// A domain event (`conversation.created`, `message.received`, `message.sent`, …), as webhooks deliver it.
#[derive(SimpleObject)]
pub struct DomainEvent {
    pub id: ID,
    #[graphql(name = "type")]
    pub kind: String,
    pub subject_id: ID,
    pub created_at: DateTime,
    pub data: Json<Value>,
}

impl From<&crate::events::Event> for DomainEvent {
    fn from(event: &crate::events::Event) -> Self {
        Self {
            id: ID(event.id.clone()),
            kind: event.kind.as_str().to_owned(),
            subject_id: ID(event.subject_id.clone()),
            created_at: DateTime(event.created_at),
            data: Json(event.data.clone()),
        }
    }
}

/// What to do when a reply is already running.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(rename_items = "lowercase")]
pub enum WhileBusy {
    /// Answer 409 `conversation_busy`.
    #[default]
    Reject,
    /// Queue the message; its reply starts after the running one.
    Enqueue,
}

/// What `sendMessage` returns at once: the stored user message and the reply's id. Selecting `reply` waits for
/// the reply to finish (the REST non-streaming call does).
pub struct SendMessagePayload {
    pub message: message::Model,
    pub reply: message::Model,
}

#[Object]
impl SendMessagePayload {
    async fn message(&self) -> Message {
        Message(self.message.clone())
    }
    async fn reply_id(&self) -> ID {
        ID(self.reply.id.clone())
    }
    /// The agent's reply, once finished (this field waits for it).
    async fn reply(&self, ctx: &Context<'_>) -> async_graphql::Result<Message> {
        let app = ctx.app().gql()?;
        crate::runs::wait(app, &self.reply).await.gql().map(Message)
    }
}
