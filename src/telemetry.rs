//! Tracing: human-readable logs on stderr, filtered by `RUST_LOG` (default `info`).
use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    // A second init (tests spawn many servers in one process) is harmless.
    let _ = fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        // The default reports a failed log write with `eprintln!`, which panics when stderr is a closed pipe —
        // taking the request being logged down with it. A lost log line must never cost a response.
        .log_internal_errors(false)
        .try_init();
}
