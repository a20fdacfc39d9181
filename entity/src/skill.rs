//! A catalog skill. `version` is the latest release; all releases are in `skill_version`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "skills")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub version: String,
    pub category: String,
    pub description: String,
    pub author: String,
    pub downloads: i64,
    #[sea_orm(column_type = "Double")]
    pub rating: f64,
    pub created_at: DateTimeUtc,
    /// Custom skills only: the account that registered it (catalog skills have none and are public).
    pub account_id: Option<String>,
    /// Custom skills only: where invocations are POSTed, signed with `secret` like webhook deliveries.
    pub endpoint_url: Option<String>,
    pub secret: Option<String>,
    /// Custom skills only: the JSON Schema of the tool's arguments.
    pub parameters: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
