//! A conversation between a user of an account and one agent.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub agent_id: String,
    pub user_id: Option<String>,
    pub metadata: Json,
    /// Overrides of the agent's model settings; `None` means "as the agent".
    pub model_provider: Option<String>,
    pub model_name: Option<String>,
    #[sea_orm(column_type = "Double", nullable)]
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub status: String,
    pub active_reply_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
