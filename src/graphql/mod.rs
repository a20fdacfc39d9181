//! The GraphQL API — the primary model of the server. REST routes execute the same schema.
pub mod context;
pub mod document_limits;
pub mod documents;
pub mod errors;
pub mod guards;
pub mod http;
pub mod inputs;
pub mod loaders;
pub mod multipart;
pub mod mutation;
pub mod ordering;
pub mod query;
pub mod scalars;
pub mod schema;
pub mod sse;
pub mod subscription;
pub mod types;
pub mod variables;
pub mod ws;
pub mod ws_guard;

pub use schema::{AppSchema, build_schema, request_data};
