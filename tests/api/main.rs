//! Integration tests: every test spawns the real server on 127.0.0.1:0 with a fresh database and talks to it
//! over HTTP and WebSocket. Tests listed in `db_tests!` run once on SQLite and once on PostgreSQL.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod helpers;

mod agents;
mod attachments;
mod auth;
mod batch;
mod builtin_skills;
mod chat;
mod cli;
mod conversations;
mod crash;
mod extraction_limits;
mod fake_openai;
mod files;
mod graphql;
mod graphql_http_audit;
mod graphql_sse;
mod hardening;
mod health;
mod hostile;
mod knowledge;
mod limits;
mod llm_openai;
mod llm_smollm;
mod memories;
mod messages;
mod openapi;
mod openapi_fuzz;
mod playground;
mod playground_e2e;
mod providers;
mod receiver;
mod robustness;
mod schema_bombs;
mod seed_snippets;
mod semantic;
mod skills;
mod soak;
mod stream_crash;
mod streaming;
mod tasks;
mod tools;
mod webhook_fairness;
mod webhooks;
mod websocket;
