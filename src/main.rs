//! `openclaw`: parse the command line, start tracing, run the command.
use clap::Parser;

/// Request handling allocates many small, short-lived objects across threads; mimalloc handles that far better
/// than the system allocator (measured with `cargo bench --bench load`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = openclaw::cli::Cli::parse();
    // The extraction child runs before any runtime, thread or log writer exists: its address-space limit is then
    // spent on the file alone, and stdout carries nothing but the text.
    if let Some(openclaw::cli::Command::Extract(args)) = &cli.command {
        std::process::exit(openclaw::extract::child::run(args));
    }
    openclaw::telemetry::init();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(openclaw::cli::run(cli))
}
