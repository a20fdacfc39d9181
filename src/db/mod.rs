//! Database connection (SQLite embedded or PostgreSQL), migrations, and a query counter used by tests and
//! benchmarks to prove that batched loading keeps the query count flat.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::Config;

mod handle;
pub use handle::Db;

/// Counts SQL statements executed through the pool.
#[derive(Clone, Default, Debug)]
pub struct QueryCounter(Arc<AtomicU64>);

impl QueryCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Opens the pool. An in-memory SQLite database lives only as long as its one connection, so it gets exactly one.
pub async fn connect(config: &Config) -> anyhow::Result<(DatabaseConnection, QueryCounter)> {
    let url = &config.database_url;
    let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
    let max = if in_memory { 1 } else { config.db_max_connections.max(1) };
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(max)
        .min_connections(if in_memory { 1 } else { 0 })
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .idle_timeout(if in_memory { Duration::from_secs(u64::from(u32::MAX)) } else { Duration::from_secs(300) })
        .sqlx_logging(false);
    // Pinging a connection before every checkout doubles the round trips of a read. An embedded SQLite connection
    // cannot go stale; a network connection is only re-checked after sitting idle.
    if url.starts_with("sqlite:") {
        options.test_before_acquire(false);
    } else {
        options.test_before_acquire_if_idle_for(Duration::from_secs(30));
    }
    let mut db = Database::connect(options).await?;
    let counter = QueryCounter::default();
    let inner = counter.0.clone();
    db.set_metric_callback(move |_| {
        inner.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
}

/// Applies pending migrations (idempotent; runs on every start).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// Starts a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken up front, so
/// concurrent writers queue on the busy timeout instead of failing with "database is locked" when a transaction
/// that has read tries to upgrade to a write (SQLite refuses that at once to avoid a deadlock). PostgreSQL ignores
/// the mode.
pub async fn begin_write(db: &Db) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}
