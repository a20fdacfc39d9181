//! `openclaw`: parse the command line, start tracing, run the command.
use clap::Parser;

/// Request handling allocates many small, short-lived objects across threads; mimalloc handles that far better
/// than the system allocator (measured with `cargo bench --bench load`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = openclaw::cli::Cli::parse();
    openclaw::telemetry::init();
    openclaw::cli::run(cli).await
}
