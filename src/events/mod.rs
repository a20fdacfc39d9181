//! Events: what happened, to whom, when. Published on an [`EventBus`] under a [`Topic`] (an account's domain
//! events, a conversation's message stream) so subscriptions can react. The bus is a trait so PostgreSQL NOTIFY,
//! Redis or NATS can back it when several instances serve one database.
mod memory_bus;
pub mod stream;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use serde_json::Value;

pub use memory_bus::InMemoryBus;
pub use stream::{StreamEvent, StreamEventKind};

/// The event types this server emits: SPEC §3's webhook events plus task progress, webhook endpoint changes and
/// the test ping. Each is recorded in the transaction of the change that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    AgentUpdated,
    SkillInstalled,
    ConversationCreated,
    MessageReceived,
    MessageSent,
    TaskCreated,
    TaskProgress,
    TaskCompleted,
    TaskFailed,
    TaskCancelled,
    EndpointDisabled,
    WebhookTest,
    UsageThreshold,
    TicketCreated,
}

impl EventKind {
    /// Every kind, in documentation order.
    pub const ALL: [EventKind; 14] = [
        Self::ConversationCreated,
        Self::MessageReceived,
        Self::MessageSent,
        Self::TaskCreated,
        Self::TaskProgress,
        Self::TaskCompleted,
        Self::TaskFailed,
        Self::TaskCancelled,
        Self::SkillInstalled,
        Self::AgentUpdated,
        Self::EndpointDisabled,
        Self::WebhookTest,
        Self::UsageThreshold,
        Self::TicketCreated,
    ];

    /// The wire name, e.g. `agent.updated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AgentUpdated => "agent.updated",
            Self::SkillInstalled => "skill.installed",
            Self::ConversationCreated => "conversation.created",
            Self::MessageReceived => "message.received",
            Self::MessageSent => "message.sent",
            Self::TaskCreated => "task.created",
            Self::TaskProgress => "task.progress",
            Self::TaskCompleted => "task.completed",
            Self::TaskFailed => "task.failed",
            Self::TaskCancelled => "task.cancelled",
            Self::EndpointDisabled => "endpoint.disabled",
            Self::WebhookTest => "webhook.test",
            Self::UsageThreshold => "usage.threshold",
            Self::TicketCreated => "ticket.created",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One thing that happened in one account.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub account_id: String,
    /// The id of the resource the event is about (agent, conversation or message).
    pub subject_id: String,
    pub created_at: DateTime<Utc>,
    pub data: Value,
}

impl Event {
    pub fn new(kind: EventKind, account_id: &str, subject_id: &str, data: Value) -> Self {
        Self {
            id: crate::ids::new_id("evt"),
            kind,
            account_id: account_id.to_owned(),
            subject_id: subject_id.to_owned(),
            created_at: Utc::now(),
            data,
        }
    }

    /// The webhook/GraphQL payload: `{"id","type","createdAt","data"}` (SPEC §6).
    pub fn envelope(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "createdAt": crate::graphql::scalars::format_time(self.created_at),
            "data": self.data,
        })
    }
}

/// Where a message is published: subscribers listen to one topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every domain event of one account.
    Account(String),
    /// The message stream (deltas, completions) of one conversation.
    Conversation(String),
}

impl Topic {
    /// A flat key (`account:…`, `conversation:…`), the channel name on external buses.
    pub fn key(&self) -> String {
        match self {
            Self::Account(id) => format!("account:{id}"),
            Self::Conversation(id) => format!("conversation:{id}"),
        }
    }
}

/// What travels on the bus.
#[derive(Debug, Clone)]
pub enum BusMessage {
    Event(Arc<Event>),
    Stream(Arc<StreamEvent>),
}

impl BusMessage {
    pub fn topic(&self) -> Topic {
        match self {
            Self::Event(event) => Topic::Account(event.account_id.clone()),
            Self::Stream(event) => Topic::Conversation(event.conversation_id.clone()),
        }
    }
}

/// What a subscriber receives: a message, or notice that it fell behind and missed `n` messages.
#[derive(Debug, Clone)]
pub enum Delivery {
    Message(BusMessage),
    Lagged(u64),
}

/// Fan-out of messages to subscribers of a topic. Publishing never waits for subscribers: a slow subscriber lags
/// (and is told so) instead of slowing the publisher or the other subscribers.
pub trait EventBus: Send + Sync {
    fn publish_message(&self, message: BusMessage);
    /// Every message published on `topic` after this call, in order.
    fn subscribe(&self, topic: Topic) -> BoxStream<'static, Delivery>;
    /// How many subscribers are listening on this instance (for readiness in tests and for metrics).
    fn subscriber_count(&self) -> usize;
}

impl dyn EventBus {
    /// Publishes a domain event to its account's topic.
    pub fn publish(&self, event: Event) {
        self.publish_message(BusMessage::Event(Arc::new(event)));
    }

    /// Publishes a message-stream event to its conversation's topic.
    pub fn publish_stream(&self, event: Arc<StreamEvent>) {
        self.publish_message(BusMessage::Stream(event));
    }
}
