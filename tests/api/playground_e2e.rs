//! The playground end to end in headless Chromium (tests/playground/e2e.mjs, driven by playwright-core): the agent
//! console streams a reply from the `echo` model, and GraphiQL runs a query and an `agentUpdated` subscription,
//! with no request leaving 127.0.0.1. Screenshots land in target/test-artifacts/playground/.
use std::{path::Path, process::Command};

use crate::helpers::{Backend, install_once, run_tool, spawn_app_with};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/playground");
const SCREENSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-artifacts/playground");
const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_streams_a_reply_and_graphiql_runs_a_query_and_a_subscription() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the playground's end-to-end test drives Debian's Chromium; \
         install it with `apt-get install -y chromium` (CI does)"
    );
    install_once(DIR, "[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund");
    std::fs::create_dir_all(SCREENSHOTS).unwrap();
    let shots = ["console.png", "graphiql.png"].map(|name| Path::new(SCREENSHOTS).join(name));
    for shot in &shots {
        let _ = std::fs::remove_file(shot);
    }
    // Slow enough that the console visibly streams the reply token by token.
    let app = spawn_app_with(Backend::Sqlite, |c| c.echo_token_delay_ms = 30).await;

    let mut command = Command::new("node");
    command.arg("e2e.mjs").arg(app.url("")).arg(&app.key).arg(SCREENSHOTS).current_dir(DIR);
    let (ok, report) = run_tool(command).await;

    assert!(ok, "the playground's end-to-end run failed:\n{report}");
    assert!(report.contains("playground e2e passed"), "{report}");
    for shot in &shots {
        let size = std::fs::metadata(shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "{} is missing or empty:\n{report}", shot.display());
    }
}
