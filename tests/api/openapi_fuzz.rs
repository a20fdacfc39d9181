//! Property-based fuzzing of the REST layer from its own OpenAPI document (schemathesis): thousands of generated
//! requests, none may get a 5xx, and every response must match the documented status codes, content types and
//! schemas. (Requests that name catalog skills or versions that do not exist are rightly refused with a 400,
//! which is why the "schema-valid request rejected" check is not run.)
use std::process::Command;

use crate::helpers::{Backend, install_once, run_tool, spawn_app};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis");

async fn generated_requests_never_get_a_server_error(backend: Backend) {
    install_once(
        DIR,
        "[ -x .venv/bin/schemathesis ] || { python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt; }",
    );
    let app = spawn_app(backend).await;
    let mut command = Command::new(format!("{DIR}/.venv/bin/schemathesis"));
    command
        .args(["run", &app.url("/v2/openapi.json"), "--url", &app.url(""), "-H", &format!("X-API-Key: {}", app.key)])
        .args(["--max-examples", "60", "--seed", "20261125"])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .env("NO_COLOR", "1");

    let (ok, report) = run_tool(command).await;

    assert!(ok, "schemathesis found failures:\n{report}");
    assert!(report.contains("passed"), "{report}");
}

crate::db_tests!(generated_requests_never_get_a_server_error);
