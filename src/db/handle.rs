//! `Db`: the handle every service writes through — the pool, or one transaction shared by several requests (an
//! atomic batch). Services never know which: a service that opens its own transaction gets a real one on the pool
//! and a `SAVEPOINT` inside a shared transaction, so its all-or-nothing promise holds either way.
use std::{future::Future, pin::Pin, sync::Arc};

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, IsolationLevel,
    QueryResult, Statement, TransactionError, TransactionOptions, TransactionTrait,
};

#[derive(Clone, Debug)]
pub enum Db {
    /// Each statement or transaction takes a connection from the pool.
    Pool(DatabaseConnection),
    /// Everything runs in one open transaction, committed or rolled back by whoever opened it.
    Shared(Arc<DatabaseTransaction>),
}

impl Db {
    /// Whether this handle runs inside a transaction someone else commits (an atomic batch).
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Shared(_))
    }
}

impl Db {
    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<(), DbErr> {
        match self {
            Self::Pool(pool) => pool.ping().await,
            Self::Shared(txn) => txn.execute_unprepared("SELECT 1").await.map(|_| ()),
        }
    }
}

impl From<DatabaseConnection> for Db {
    fn from(pool: DatabaseConnection) -> Self {
        Self::Pool(pool)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Pool(pool) => pool.get_database_backend(),
            Self::Shared(txn) => txn.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(pool) => pool.execute_raw(stmt).await,
            Self::Shared(txn) => txn.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(pool) => pool.execute_unprepared(sql).await,
            Self::Shared(txn) => txn.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Pool(pool) => pool.query_one_raw(stmt).await,
            Self::Shared(txn) => txn.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Pool(pool) => pool.query_all_raw(stmt).await,
            Self::Shared(txn) => txn.query_all_raw(stmt).await,
        }
    }

    fn support_returning(&self) -> bool {
        match self {
            Self::Pool(pool) => pool.support_returning(),
            Self::Shared(txn) => txn.support_returning(),
        }
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Self::Pool(pool) => pool.begin().await,
            Self::Shared(txn) => txn.begin().await,
        }
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Self::Pool(pool) => pool.begin_with_config(isolation_level, access_mode).await,
            Self::Shared(txn) => txn.begin_with_config(isolation_level, access_mode).await,
        }
    }

    async fn begin_with_options(&self, options: TransactionOptions) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Self::Pool(pool) => pool.begin_with_options(options).await,
            // A nested transaction is a SAVEPOINT: SQLite's BEGIN mode only applies to the outer one.
            Self::Shared(txn) => txn.begin_with_options(options).await,
        }
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        match self {
            Self::Pool(pool) => pool.transaction(callback).await,
            Self::Shared(txn) => txn.transaction(callback).await,
        }
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c DatabaseTransaction) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        match self {
            Self::Pool(pool) => pool.transaction_with_config(callback, isolation_level, access_mode).await,
            Self::Shared(txn) => txn.transaction_with_config(callback, isolation_level, access_mode).await,
        }
    }
}
