//! Property-based fuzzing of the REST layer from its own OpenAPI document (schemathesis): thousands of generated
//! requests, none may get a 5xx, and every response must match the documented status codes, content types and
//! schemas. (Requests that name catalog skills or versions that do not exist are rightly refused with a 400,
//! which is why the "schema-valid request rejected" check is not run.)
use std::process::Command;

use crate::helpers::{Backend, spawn_app};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis");

/// Creates `tests/schemathesis/.venv` with the pinned schemathesis once; `flock` serialises parallel tests.
fn ensure_schemathesis() {
    let status = Command::new("flock")
        .args([
            ".install.lock",
            "sh",
            "-c",
            "[ -x .venv/bin/schemathesis ] || { python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt; }",
        ])
        .current_dir(DIR)
        .status()
        .unwrap();
    assert!(status.success(), "installing schemathesis failed in {DIR}");
}

async fn generated_requests_never_get_a_server_error(backend: Backend) {
    ensure_schemathesis();
    let app = spawn_app(backend).await;
    let (schema, base, key) = (app.url("/v2/openapi.json"), app.url(""), app.key.clone());

    let output = tokio::task::spawn_blocking(move || {
        Command::new(format!("{DIR}/.venv/bin/schemathesis"))
            .args(["run", &schema, "--url", &base, "-H", &format!("X-API-Key: {key}")])
            .args(["--max-examples", "60", "--seed", "20261125"])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();

    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}

crate::db_tests!(generated_requests_never_get_a_server_error);
