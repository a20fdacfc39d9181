//! One event to deliver to one endpoint (a webhook, or a task's callback URL): the outbox row and its retry state.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub webhook_id: Option<String>,
    pub task_id: Option<String>,
    pub event_id: String,
    pub event_type: String,
    /// A callback's own URL, headers and signing secret (webhook deliveries use the endpoint's).
    pub url: Option<String>,
    pub headers: Option<Json>,
    pub secret: Option<String>,
    /// The exact body sent and signed.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// pending | succeeded | failed
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
