//! Something an agent remembers, for one user or for everyone: text, a kind, metadata, where it came from, and
//! when it expires (from the agent's retention).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "memories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub agent_id: String,
    pub user_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    /// The API's `type`: `conversation`, `fact`, `preference`, …
    pub kind: String,
    pub metadata: Json,
    pub conversation_id: Option<String>,
    pub message_id: Option<String>,
    /// The content's embedding, when an embeddings provider is configured.
    pub embedding: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
