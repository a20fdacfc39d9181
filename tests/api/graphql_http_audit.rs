//! The npm `graphql-http` package's `auditServer` — every audit, not only the MUSTs — against the live server.
use std::process::Command;

use crate::helpers::{Backend, spawn_app};

/// Installs the audit's npm dependency once; `flock` serialises the tests of both backends running in parallel.
fn ensure_node_modules(dir: &str) {
    let status = Command::new("flock")
        .args([".install.lock", "sh", "-c", "[ -d node_modules/graphql-http ] || npm ci --no-audit --no-fund"])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "installing graphql-http failed in {dir}");
}

async fn graphql_http_audits_all_pass(backend: Backend) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/graphql-http");
    ensure_node_modules(dir);
    let app = spawn_app(backend).await;
    let url = app.url("/v2/graphql");
    let key = app.key.clone();

    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg("audit.mjs").arg(url).arg(key).current_dir(dir).output().unwrap()
    })
    .await
    .unwrap();

    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "graphql-http audits failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("audits passed"), "{report}");
}

crate::db_tests!(graphql_http_audits_all_pass);
