//! An async task: a durable queue row claimed by workers with a lease.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    #[sea_orm(column_name = "type")]
    pub kind: String,
    pub input: Json,
    /// queued | running | completed | failed | cancelled
    pub status: String,
    pub progress: i32,
    pub result: Option<Json>,
    pub error: Option<Json>,
    /// `{"url","headers"}` plus the signing secret.
    pub callback: Option<Json>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub timeout_secs: i32,
    pub run_after: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
