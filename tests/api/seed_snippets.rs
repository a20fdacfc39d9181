//! The announcement's client snippets, run by their own runtimes against the live server.
use std::process::Command;

use crate::{
    db_tests,
    helpers::{Backend, run_tool, spawn_app},
};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seed/stream.mjs");

db_tests!(fetch_get_reader_streaming_snippet_works);

async fn fetch_get_reader_streaming_snippet_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, conversation) = app.echo_conversation().await;
    let mut node = Command::new("node");
    node.args([SCRIPT, &app.url(""), &app.key, &conversation]);
    let (ok, output) = run_tool(node).await;
    assert!(ok, "{output}");
    for event in ["event: message.created", "event: message.delta", "event: message.completed", "event: done"] {
        assert!(output.contains(event), "missing {event}:\n{output}");
    }
    let deltas: String = output
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<serde_json::Value>(data).ok())
        .filter_map(|data| data.get("delta").and_then(|d| d.as_str()).map(str::to_owned))
        .collect();
    assert_eq!(deltas, "Echo: 你好");
}
