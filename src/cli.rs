//! Command-line interface: `serve` (default), `migrate`, `schema`, `keys create|list|revoke`, `accounts set-plan`
//! (and the hidden `extract`, the server's extraction process).
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::{
    app::{self, AppState},
    auth::Plan,
    config::Config,
    db, graphql, services,
};

#[derive(Parser, Debug)]
#[command(name = "openclaw", version, about = "OpenClaw API v2 server")]
pub struct Cli {
    /// TOML configuration file (also `OPENCLAW_CONFIG`); `OPENCLAW_*` variables override it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Internal: read one file on stdin and write its text on stdout, under limits (the server runs it per HTML or
    /// PDF file).
    #[command(hide = true)]
    Extract(crate::extract::child::ExtractArgs),
}

#[derive(Subcommand, Debug)]
pub enum AccountsCommand {
    /// Move an account (by name or id) to another plan: free, pro or enterprise.
    SetPlan {
        #[arg(long)]
        account: String,
        #[arg(long)]
        plan: Plan,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key (and the account, if new). The key is printed once, alone on the last line.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long, default_value = "free")]
        plan: Plan,
        /// Comma-separated scopes (`*`, `agents:read`, `agents:write`, `skills:read`, `agents:*`, …).
        #[arg(long, value_delimiter = ',', default_value = "*")]
        scopes: Vec<String>,
        /// A label shown in listings.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (prefixes only; secrets are never stored).
    List {
        #[arg(long)]
        account: Option<String>,
    },
    /// Revoke a key by id or visible prefix.
    Revoke { key: String },
}

impl clap::ValueEnum for Plan {
    fn value_variants<'a>() -> &'a [Self] {
        &[Plan::Free, Plan::Pro, Plan::Enterprise]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Runs the chosen command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Extract(args)) = &cli.command {
        std::process::exit(crate::extract::child::run(args));
    }
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let (db, _) = db::connect(&config).await?;
            db::migrate(&db).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Schema => {
            print!("{}", graphql::schema::sdl());
            Ok(())
        }
        Command::Keys(command) => keys(config, command).await,
        Command::Extract(args) => std::process::exit(crate::extract::child::run(&args)),
        Command::Accounts(AccountsCommand::SetPlan { account, plan }) => {
            let (db, _) = db::connect(&config).await?;
            db::migrate(&db).await?;
            let db = db::Db::from(db);
            let fail = |e: crate::error::AppError| anyhow::anyhow!(e.public_message());
            let found = services::accounts::find(&db, &account).await.map_err(fail)?;
            let before = found.plan.clone();
            let updated = services::accounts::set_plan(&db, found, plan).await.map_err(fail)?;
            println!("account `{}` ({}): {before} → {}", updated.name, updated.id, updated.plan);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let state = AppState::build(config).await?;
    if let Some(key) = app::bootstrap(&state).await? {
        println!("Created account `default` on the free plan. Its API key (shown once, store it now):");
        println!("{key}");
    }
    let limits = state.config.connection_limits();
    let router = app::build_router(state)?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "OpenClaw server listening");
    app::run_with(listener, router, limits, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(())
}

async fn keys(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let (db, _) = db::connect(&config).await?;
    db::migrate(&db).await?;
    let db = db::Db::from(db);
    let fail = |e: crate::error::AppError| anyhow::anyhow!(e.public_message());
    match command {
        KeysCommand::Create { account, plan, scopes, name } => {
            let account = services::accounts::find_or_create(&db, &account, plan).await.map_err(fail)?;
            let account = services::accounts::set_plan(&db, account, plan).await.map_err(fail)?;
            let (key, secret) = services::accounts::create_key(&db, &account.id, name, scopes).await.map_err(fail)?;
            eprintln!(
                "created key {} ({}) for account `{}` on the {} plan",
                key.id, key.prefix, account.name, account.plan
            );
            println!("{secret}");
        }
        KeysCommand::List { account } => {
            let keys = services::accounts::list_keys(&db, account.as_deref()).await.map_err(fail)?;
            println!("{:<40} {:<14} {:<20} {:<8} {:<20} SCOPES", "ID", "PREFIX", "ACCOUNT", "STATUS", "CREATED");
            for k in keys {
                println!(
                    "{:<40} {:<14} {:<20} {:<8} {:<20} {}",
                    k.id,
                    k.prefix,
                    k.account_name,
                    if k.revoked { "revoked" } else { "active" },
                    k.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    k.scopes.join(",")
                );
            }
        }
        KeysCommand::Revoke { key } => {
            let key = services::accounts::revoke_key(&db, &key).await.map_err(fail)?;
            println!("revoked {} ({})", key.id, key.prefix);
        }
    }
    Ok(())
}
