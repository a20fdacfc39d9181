//! Memory bodies: `{"agentId","userId","content","type","metadata"}` (SPEC §3).
use async_graphql::{ID, InputObject, Json};
use serde_json::Value;

use crate::services::memories::{MemoryPatch, NewMemory};

#[derive(InputObject)]
pub struct CreateMemoryInput {
    pub agent_id: ID,
    /// The user it is about; omit for what the agent remembers for everyone.
    pub user_id: Option<String>,
    pub content: String,
    /// Defaults to `fact`.
    #[graphql(name = "type")]
    pub kind: Option<String>,
    pub metadata: Option<Json<Value>>,
}

impl From<CreateMemoryInput> for NewMemory {
    fn from(input: CreateMemoryInput) -> Self {
        Self {
            agent_id: input.agent_id.0,
            user_id: input.user_id,
            content: input.content,
            kind: input.kind,
            metadata: input.metadata.map(|m| m.0),
            conversation_id: None,
            message_id: None,
        }
    }
}

#[derive(InputObject)]
pub struct UpdateMemoryInput {
    pub content: Option<String>,
    #[graphql(name = "type")]
    pub kind: Option<String>,
    pub metadata: Option<Json<Value>>,
}

impl From<UpdateMemoryInput> for MemoryPatch {
    fn from(input: UpdateMemoryInput) -> Self {
        Self { content: input.content, kind: input.kind, metadata: input.metadata.map(|m| m.0) }
    }
}
