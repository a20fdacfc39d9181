//! OpenClaw server: a GraphQL-first implementation of the OpenClaw API v2.

/// Table analysis for `analysis` tasks: parsing, statistics, PNG charts.
pub mod analysis;
/// Application state, router and the `run` entry point.
pub mod app;
/// Authentication: API keys, JWT access tokens, principals.
pub mod auth;
/// Reading request bodies within their size and time limits.
pub mod body;
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
/// Text extraction (txt, md, csv, json, html, pdf) and chunking for retrieval and attachments.
pub mod extract;
/// Bounded fuzzing of the parsers clients reach (tests only; the targets live beside their code).
#[cfg(test)]
pub mod fuzz;
/// The GraphQL schema, HTTP and WebSocket transports.
pub mod graphql;
/// Prefixed, time-ordered ids.
pub mod ids;
/// Plans, rate limits, concurrency limits and monthly token quotas.
pub mod limits;
/// Model providers: the trait, the registry, echo and OpenAI-compatible.
pub mod llm;
/// Outbound HTTP (webhooks, task callbacks, fetched files) behind an SSRF guard.
pub mod outbound;
/// `/playground`: the embedded GraphiQL explorer and agent console.
pub mod playground;
/// The REST compatibility layer generated from a route table.
pub mod rest;
/// Agent runs: reply generation detached from clients, run logs, replay.
pub mod runs;
/// The HTTP server loop and its connection bounds.
pub mod server;
/// Business rules, one module per resource.
pub mod services;
/// Skills as tools: the built-in implementations and the toolbox a run offers the model.
pub mod skills;
/// Where file bytes live (a trait; a local directory by default).
pub mod storage;
/// The async task worker pool and the task types' handlers.
pub mod tasks;
/// Logging.
pub mod telemetry;
/// Where a request's writes go and when their effects are announced (atomic batches).
pub mod unit_of_work;
/// Webhook bodies, signatures, retry schedule and the delivery worker.
pub mod webhooks;
