//! The account's knowledge: files uploaded with purpose `knowledge` are extracted and chunked at upload, and the
//! chunks are searched by the `knowledge-base` skill (full-text, optionally within one collection).
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, Value as SqlValue};

use super::fulltext::{self, Indexed};
use crate::{
    error::{AppError, AppResult},
    extract,
};
use entity::{file, file_chunk};

const INDEX: Indexed = Indexed { table: "file_chunks", fts: "file_chunks_fts", key: "chunk_id" };

/// A retrieved passage: the chunk, the file it is from, and its relevance (higher is better).
#[derive(Debug, Clone)]
pub struct Passage {
    pub chunk: file_chunk::Model,
    pub file_name: String,
    pub score: f64,
}

/// A collection name: like a skill id, `^[a-z0-9][a-z0-9-]{0,63}$`.
pub fn validate_collection(name: &str) -> AppResult<()> {
    let valid = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(AppError::validation("collection", "must be lowercase letters, digits and `-` (at most 64)"))
    }
}

/// Maps an extraction failure to the API's error: 415 for a type without text, 422 for a file that does not parse
/// or hits an extraction limit, 500 when the extractor itself cannot run.
pub fn extraction_error(err: extract::ExtractError) -> AppError {
    match err {
        extract::ExtractError::Unavailable(cause) => AppError::Internal(anyhow::anyhow!("text extraction: {cause}")),
        extract::ExtractError::Busy => AppError::Unavailable,
        other => AppError::BadRequest { code: other.code(), message: other.to_string() },
    }
}

/// Stores the chunks of a file's text. Returns how many.
pub async fn index(db: &impl ConnectionTrait, file: &file::Model, text: &str) -> AppResult<usize> {
    let chunks = extract::chunk(text);
    let rows: Vec<file_chunk::ActiveModel> = chunks
        .into_iter()
        .enumerate()
        .map(|(position, content)| file_chunk::ActiveModel {
            id: Set(format!("{}:{position}", file.id)),
            file_id: Set(file.id.clone()),
            account_id: Set(file.account_id.clone()),
            collection: Set(file.collection.clone()),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            content: Set(content),
        })
        .collect();
    let count = rows.len();
    // Inserted in slices: one statement per chunk would be slow, one for a whole book too large for SQLite.
    for batch in rows.chunks(200) {
        file_chunk::Entity::insert_many(batch.to_vec()).exec(db).await?;
    }
    Ok(count)
}

/// How many chunks a file has.
pub async fn chunk_counts(
    db: &impl ConnectionTrait,
    file_ids: &[String],
) -> AppResult<std::collections::HashMap<String, u64>> {
    let rows =
        file_chunk::Entity::find().filter(file_chunk::Column::FileId.is_in(file_ids.iter().cloned())).all(db).await?;
    let mut counts = std::collections::HashMap::new();
    for row in rows {
        *counts.entry(row.file_id).or_insert(0) += 1;
    }
    Ok(counts)
}

/// The passages of the account's knowledge (in `collection`, when given) matching any word of the query.
pub async fn search(
    db: &impl ConnectionTrait,
    account_id: &str,
    collection: Option<&str>,
    terms: &[String],
    limit: u64,
) -> AppResult<Vec<Passage>> {
    let mut values: Vec<SqlValue> = vec![account_id.into()];
    let mut filter = "t.account_id = $2".to_owned();
    if let Some(collection) = collection {
        values.push(collection.into());
        filter.push_str(" AND t.collection = $3");
    }
    let hits = fulltext::ranked(db, &INDEX, terms, &filter, values, "t.file_id, t.position", limit).await?;
    let ids: Vec<String> = hits.iter().map(|(id, _)| id.clone()).collect();
    let chunks = file_chunk::Entity::find().filter(file_chunk::Column::Id.is_in(ids)).all(db).await?;
    let file_ids: Vec<String> = chunks.iter().map(|c| c.file_id.clone()).collect();
    let names: std::collections::HashMap<String, String> = file::Entity::find()
        .filter(file::Column::Id.is_in(file_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let mut by_id: std::collections::HashMap<String, file_chunk::Model> =
        chunks.into_iter().map(|c| (c.id.clone(), c)).collect();
    Ok(hits
        .into_iter()
        .filter_map(|(id, score)| {
            let chunk = by_id.remove(&id)?;
            let file_name = names.get(&chunk.file_id).cloned().unwrap_or_default();
            Some(Passage { chunk, file_name, score })
        })
        .collect())
}
