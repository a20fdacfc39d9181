//! Events: what happened, to whom, when. Published on an [`EventBus`] so subscriptions (and, later, webhooks and
//! other instances) can react. The bus is a trait so PostgreSQL NOTIFY, Redis or NATS can back it.
mod memory_bus;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use serde_json::Value;

pub use memory_bus::InMemoryBus;

/// The event types of SPEC §3 (webhooks) that this server emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    AgentUpdated,
    SkillInstalled,
}

impl EventKind {
    /// The wire name, e.g. `agent.updated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AgentUpdated => "agent.updated",
            Self::SkillInstalled => "skill.installed",
        }
    }
}

/// One thing that happened in one account.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub account_id: String,
    /// The id of the resource the event is about (the agent for both current kinds).
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
}

/// What a subscriber receives: an event, or notice that it fell behind and missed `n` events.
#[derive(Debug, Clone)]
pub enum Delivery {
    Event(Arc<Event>),
    Lagged(u64),
}

/// Fan-out of events to subscribers.
pub trait EventBus: Send + Sync {
    fn publish(&self, event: Event);
    /// Every event published after this call, in order.
    fn subscribe(&self) -> BoxStream<'static, Delivery>;
    /// How many subscribers are listening on this instance (for readiness in tests and for metrics).
    fn subscriber_count(&self) -> usize;
}
