//! Claiming due rows of a durable queue (webhook deliveries, tasks) with a lease: a claimed row belongs to one
//! worker until its lease expires, so a worker that died has its rows re-claimed later and no row is worked on by
//! two workers at once. PostgreSQL skips rows another worker is claiming (`FOR UPDATE SKIP LOCKED`); SQLite runs
//! the same single `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING *` statement, which it executes atomically
//! under its one write lock.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult, Statement, Value};

use crate::error::AppResult;

/// One queue's claim: which rows are due and what claiming them sets. In `ready` and `set`, `{now}` and
/// `{lease}` stand for the current time and the new lease expiry.
pub struct Claim<'a> {
    pub table: &'a str,
    pub ready: &'a str,
    pub order: &'a str,
    pub set: &'a str,
}

/// Claims up to `limit` due rows, leasing them until `lease_until`.
pub async fn claim<E>(
    db: &impl ConnectionTrait,
    claim: &Claim<'_>,
    limit: u64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> AppResult<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult,
{
    let backend = db.get_database_backend();
    let (p_now, p_lease, lock) = match backend {
        DatabaseBackend::Postgres => ("$1", "$2", " FOR UPDATE SKIP LOCKED"),
        _ => ("?1", "?2", ""),
    };
    let fill = |text: &str| text.replace("{now}", p_now).replace("{lease}", p_lease);
    let sql = format!(
        "UPDATE {table} SET {set} WHERE id IN (SELECT id FROM {table} WHERE {ready} ORDER BY {order} LIMIT {limit}{lock}) RETURNING *",
        table = claim.table,
        set = fill(claim.set),
        ready = fill(claim.ready),
        order = claim.order,
    );
    let statement = Statement::from_sql_and_values(backend, sql, [Value::from(now), Value::from(lease_until)]);
    Ok(E::Model::find_by_statement(statement).all(db).await?)
}
