//! The npm `graphql-http` package's `auditServer` — every audit, not only the MUSTs — against the live server.
use std::process::Command;

use crate::helpers::{Backend, install_once, run_tool, spawn_app};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/graphql-http");

async fn graphql_http_audits_all_pass(backend: Backend) {
    install_once(DIR, "[ -d node_modules/graphql-http ] || npm ci --no-audit --no-fund");
    let app = spawn_app(backend).await;
    let mut command = Command::new("node");
    command.arg("audit.mjs").arg(app.url("/v2/graphql")).arg(&app.key).current_dir(DIR);

    let (ok, report) = run_tool(command).await;

    assert!(ok, "graphql-http audits failed:\n{report}");
    assert!(report.contains("audits passed"), "{report}");
}

crate::db_tests!(graphql_http_audits_all_pass);
