//! A memory as the API shows it.
use async_graphql::{ID, Json, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::services::memories::Scored;

#[derive(SimpleObject)]
pub struct Memory {
    pub id: ID,
    pub agent_id: ID,
    /// The user it is about; null for what the agent remembers for everyone.
    pub user_id: Option<String>,
    pub content: String,
    /// `fact`, `preference`, `conversation`, …
    #[graphql(name = "type")]
    pub kind: String,
    pub metadata: Json<Value>,
    /// Provenance: the conversation and message it was saved from (null when created through the API).
    pub conversation_id: Option<ID>,
    pub message_id: Option<ID>,
    /// Search relevance (higher is better; only in search results).
    pub score: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// From the agent's `memory.retention`; null when kept forever. Expired memories are never returned.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<entity::memory::Model> for Memory {
    fn from(m: entity::memory::Model) -> Self {
        Self {
            id: ID(m.id),
            agent_id: ID(m.agent_id),
            user_id: m.user_id,
            content: m.content,
            kind: m.kind,
            metadata: Json(m.metadata),
            conversation_id: m.conversation_id.map(ID),
            message_id: m.message_id.map(ID),
            score: None,
            created_at: m.created_at,
            updated_at: m.updated_at,
            expires_at: m.expires_at,
        }
    }
}

impl From<Scored> for Memory {
    fn from(hit: Scored) -> Self {
        Self { score: Some(hit.score), ..Self::from(hit.memory) }
    }
}

#[derive(SimpleObject)]
pub struct MemoryPage {
    pub memories: Vec<Memory>,
    pub pagination: super::Pagination,
}
