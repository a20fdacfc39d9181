//! The `/v2` REST compatibility layer. It holds no business logic: [`routes::ROUTES`] maps each method and path
//! onto a stored GraphQL document executed against the same schema; [`openapi`] documents the same table.
pub mod batch;
pub mod files;
pub mod handler;
mod idempotency;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod sse;

pub use handler::{CompiledRoutes, router};
