//! An agent: a model, a system prompt and memory settings. Installed skills live in `agent_skill`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: Option<String>,
    pub model_provider: String,
    pub model_name: String,
    #[sea_orm(column_type = "Double", nullable)]
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub system_prompt: Option<String>,
    pub memory_enabled: bool,
    pub memory_type: String,
    pub memory_retention: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::agent_skill::Entity")]
    AgentSkill,
}

impl Related<super::agent_skill::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AgentSkill.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
