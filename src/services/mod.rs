//! Business rules on SeaORM, one module per resource. No axum or async-graphql here: the GraphQL resolvers
//! (and through them the REST layer) call these functions with an already-authenticated account id.
//! A JSON Schema a user supplied is compiled only through [`json_schema::compile`], which bounds it first.
pub mod accounts;
pub mod agents;
pub mod conversations;
pub mod cursor;
pub mod custom_skills;
pub mod events;
pub mod files;
pub mod fulltext;
pub mod idempotency;
pub mod json_schema;
pub mod knowledge;
pub mod memories;
pub mod messages;
pub mod models;
pub mod pagination;
pub mod queue;
pub mod skill_config;
pub mod skills;
pub mod tasks;
pub mod tickets;
pub mod usage;
pub mod webhooks;
