//! OpenClaw server: a GraphQL-first implementation of the OpenClaw API v2.

/// Application state, router and the `run` entry point.
pub mod app;
/// Authentication: API keys, JWT access tokens, principals.
pub mod auth;
/// The command-line interface.
pub mod cli;
/// Layered configuration.
pub mod config;
/// Database connection and migrations.
pub mod db;
/// The one application error type.
pub mod error;
/// The event bus and event types.
pub mod events;
/// The GraphQL schema, HTTP and WebSocket transports.
pub mod graphql;
/// Prefixed, time-ordered ids.
pub mod ids;
/// Model providers: the trait, the registry, echo and OpenAI-compatible.
pub mod llm;
/// `/playground`: the embedded GraphiQL explorer and agent console.
pub mod playground;
/// The REST compatibility layer generated from a route table.
pub mod rest;
/// Agent runs: reply generation detached from clients, run logs, replay.
pub mod runs;
/// Business rules, one module per resource.
pub mod services;
/// Logging.
pub mod telemetry;
