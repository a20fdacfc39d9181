//! `openclaw`: parse the command line, start tracing, run the command.
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = openclaw::cli::Cli::parse();
    openclaw::telemetry::init();
    openclaw::cli::run(cli).await
}
