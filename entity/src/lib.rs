//! SeaORM entities: one module per table. Plain data, no business rules.
pub mod account;
pub mod agent;
pub mod agent_skill;
pub mod api_key;
pub mod conversation;
pub mod event;
pub mod file;
pub mod idempotency_key;
pub mod message;
pub mod skill;
pub mod skill_version;
pub mod task;
pub mod usage_daily;
pub mod usage_monthly;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_delivery;
