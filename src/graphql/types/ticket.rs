//! A support ticket.
use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};

#[derive(SimpleObject)]
pub struct Ticket {
    pub id: ID,
    pub title: String,
    pub description: String,
    /// `low`, `medium`, `high` or `urgent`.
    pub priority: String,
    /// `open`, `in_progress`, `resolved` or `closed`.
    pub status: String,
    /// The `ticket-system` install's `project`, when set.
    pub project: Option<String>,
    /// The agent and conversation that opened it (null when created through the API).
    pub agent_id: Option<ID>,
    pub conversation_id: Option<ID>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::ticket::Model> for Ticket {
    fn from(t: entity::ticket::Model) -> Self {
        Self {
            id: ID(t.id),
            title: t.title,
            description: t.description,
            priority: t.priority,
            status: t.status,
            project: t.project,
            agent_id: t.agent_id.map(ID),
            conversation_id: t.conversation_id.map(ID),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    pub pagination: super::Pagination,
}
