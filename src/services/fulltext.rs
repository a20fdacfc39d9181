//! Full-text ranking shared by memories and knowledge chunks: FTS5 (`bm25`) on SQLite, `tsvector` (`ts_rank_cd`)
//! on PostgreSQL, both stemming English. User text reaches neither engine's query syntax: only its words do
//! ([`query_terms`]), joined with OR.
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value as SqlValue};

use crate::error::AppResult;

/// Words of a search query that count (the rest are ignored).
const MAX_QUERY_TERMS: usize = 32;

/// A table with a full-text index: on SQLite its FTS5 table keyed by `key`, on PostgreSQL a `search` column.
pub struct Indexed {
    pub table: &'static str,
    /// The FTS5 table (SQLite) and its column holding the row's id.
    pub fts: &'static str,
    pub key: &'static str,
}

/// The words of a query, lowercased and deduplicated.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let word = word.to_lowercase();
        if !terms.contains(&word) {
            terms.push(word);
        }
        if terms.len() == MAX_QUERY_TERMS {
            break;
        }
    }
    terms
}

/// Ids and scores (higher is better) of the rows matching any of `terms` and `filter`, best first.
///
/// `filter` is SQL over the row aliased `t`, with placeholders `$2`, `$3`… bound to `values` in order (`$1` is the
/// match query); `order` breaks ties (e.g. `t.created_at DESC`).
pub async fn ranked(
    db: &impl ConnectionTrait,
    index: &Indexed,
    terms: &[String],
    filter: &str,
    values: Vec<SqlValue>,
    order: &str,
    limit: u64,
) -> AppResult<Vec<(String, f64)>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let postgres = backend == DatabaseBackend::Postgres;
    let Indexed { table, fts, key } = index;
    let (query, from, matching, score) = if postgres {
        (
            terms.join(" | "),
            format!("{table} t"),
            "t.search @@ to_tsquery('english', $1)".to_owned(),
            "ts_rank_cd(t.search, to_tsquery('english', $1))::float8".to_owned(),
        )
    } else {
        (
            terms.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(" OR "),
            format!("{fts} JOIN {table} t ON t.id = {fts}.{key}"),
            format!("{fts} MATCH $1"),
            format!("-bm25({fts})"),
        )
    };
    let mut bound: Vec<SqlValue> = Vec::with_capacity(values.len() + 2);
    bound.push(query.into());
    bound.extend(values);
    bound.push((limit.min(1000) as i64).into());
    let sql = format!(
        "SELECT t.id AS id, {score} AS score FROM {from} WHERE {matching} AND {filter} ORDER BY score DESC, {order} LIMIT ${}",
        bound.len()
    );
    let sql = if postgres { sql } else { sql.replace('$', "?") };
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, bound)).await?;
    let mut hits = Vec::with_capacity(rows.len());
    for row in rows {
        hits.push((row.try_get::<String>("", "id")?, row.try_get::<f64>("", "score")?));
    }
    Ok(hits)
}
