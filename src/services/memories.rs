//! Memories: what an agent remembers, per account and agent and optionally per user. Each expires after the
//! agent's `memory.retention` (a periodic job purges expired rows; reads never return them). Search is full-text:
//! FTS5 on SQLite, a `tsvector` with a GIN index on PostgreSQL, both stemming English and ranking by relevance.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, Value as SqlValue, sea_query::Condition,
};
use serde_json::Value;

use super::{
    agents,
    fulltext::{self, Indexed},
    pagination::PageRequest,
};

pub use fulltext::query_terms;

/// The memories' full-text index (migration 000006).
const INDEX: Indexed = Indexed { table: "memories", fts: "memories_fts", key: "memory_id" };
use crate::{
    error::{AppError, AppResult},
    llm::embeddings::{self, Embedder},
};
use entity::{agent, memory};

/// Longest memory, in characters: a memory is a fact or a summary, not a document (files are for those).
pub const MAX_CONTENT_CHARS: usize = 8_000;
/// Largest `metadata`, serialized.
const MAX_METADATA_BYTES: usize = 16 * 1024;
/// The `type` given to memories created without one.
pub const DEFAULT_KIND: &str = "fact";

/// A memory to store.
#[derive(Debug, Clone, Default)]
pub struct NewMemory {
    pub agent_id: String,
    pub user_id: Option<String>,
    pub content: String,
    pub kind: Option<String>,
    pub metadata: Option<Value>,
    /// Provenance: the conversation and message it came from (set by the `memory` skill).
    pub conversation_id: Option<String>,
    pub message_id: Option<String>,
}

/// Changes to a memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryPatch {
    pub content: Option<String>,
    pub kind: Option<String>,
    pub metadata: Option<Value>,
}

/// Which users' memories a read covers.
#[derive(Debug, Clone, Copy)]
pub enum Users<'a> {
    /// Every memory of the agent.
    Any,
    /// Only this user's.
    Only(&'a str),
    /// This user's and the agent's shared ones (no user): what a run recalls.
    WithShared(Option<&'a str>),
}

/// A search hit: the memory and its relevance (higher is better; comparable within one search).
#[derive(Debug, Clone)]
pub struct Scored {
    pub memory: memory::Model,
    pub score: f64,
}

fn validate_content(content: &str) -> AppResult<()> {
    if content.trim().is_empty() {
        return Err(AppError::validation("content", "must not be empty"));
    }
    if content.chars().count() > MAX_CONTENT_CHARS {
        return Err(AppError::validation("content", format!("must be at most {MAX_CONTENT_CHARS} characters")));
    }
    Ok(())
}

fn validate_kind(kind: &str) -> AppResult<()> {
    let valid = !kind.is_empty()
        && kind.len() <= 32
        && kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(AppError::validation(
            "type",
            "must be a lowercase word such as `fact`, `preference` or `conversation` (at most 32 characters)",
        ))
    }
}

fn validate_metadata(metadata: &Value) -> AppResult<()> {
    if !metadata.is_object() {
        return Err(AppError::validation("metadata", "must be a JSON object"));
    }
    if metadata.to_string().len() > MAX_METADATA_BYTES {
        return Err(AppError::validation("metadata", format!("must be at most {MAX_METADATA_BYTES} bytes as JSON")));
    }
    Ok(())
}

fn validate_user(user_id: Option<&str>) -> AppResult<()> {
    match user_id {
        Some(user) if user.is_empty() || user.chars().count() > 200 || user.chars().any(char::is_control) => {
            Err(AppError::validation("userId", "must be 1 to 200 characters without control characters"))
        }
        _ => Ok(()),
    }
}

/// When a memory written now by this agent expires (`None`: kept until deleted).
pub fn expiry(agent: &agent::Model, now: DateTime<Utc>) -> AppResult<Option<DateTime<Utc>>> {
    let Some(days) = agents::parse_retention(&agent.memory_retention)? else { return Ok(None) };
    let seconds = (days * 86_400.0).round() as i64;
    Ok(Duration::try_seconds(seconds).and_then(|d| now.checked_add_signed(d)))
}

/// How many of a scope's newest memories semantic ranking compares with the query (full-text covers them all).
pub const SEMANTIC_WINDOW: u64 = 2000;
/// Reciprocal rank fusion's constant: how much the top ranks of each list dominate.
const RRF_K: f64 = 60.0;

/// A document's stored vector, or `None` (no embedder, or it failed: the memory is kept, found by full text).
async fn embed_document(embedder: Option<&Embedder>, content: &str) -> Option<Value> {
    let embedder = embedder?;
    match embedder.embed(&[content], false).await {
        Ok(mut vectors) => vectors.pop().map(|v| Value::String(embeddings::encode(&v))),
        Err(err) => {
            tracing::warn!(error = %err, "could not embed a memory; it is searchable by full text only");
            None
        }
    }
}

/// Stores a memory for one of the caller's agents (404 for another tenant's agent), with its embedding when an
/// embedder is configured.
#[tracing::instrument(skip_all, fields(account_id = %account_id, agent_id = %new.agent_id), err(level = "debug"))]
pub async fn create(
    db: &impl ConnectionTrait,
    embedder: Option<&Embedder>,
    account_id: &str,
    new: NewMemory,
) -> AppResult<memory::Model> {
    validate_content(&new.content)?;
    let kind = new.kind.unwrap_or_else(|| DEFAULT_KIND.to_owned());
    validate_kind(&kind)?;
    let metadata = new.metadata.unwrap_or_else(|| Value::Object(Default::default()));
    validate_metadata(&metadata)?;
    validate_user(new.user_id.as_deref())?;
    let agent = agents::get(db, account_id, &new.agent_id).await.map_err(|err| match err {
        AppError::NotFound { .. } => AppError::validation("agentId", format!("no agent `{}`", new.agent_id)),
        other => other,
    })?;
    let embedding = embed_document(embedder, &new.content).await;
    let now = Utc::now();
    Ok(memory::ActiveModel {
        id: Set(crate::ids::new_id("mem")),
        account_id: Set(account_id.to_owned()),
        agent_id: Set(agent.id.clone()),
        user_id: Set(new.user_id),
        content: Set(new.content),
        kind: Set(kind),
        metadata: Set(metadata),
        conversation_id: Set(new.conversation_id),
        message_id: Set(new.message_id),
        embedding: Set(embedding),
        created_at: Set(now),
        updated_at: Set(now),
        expires_at: Set(expiry(&agent, now)?),
    }
    .insert(db)
    .await?)
}

fn live(now: DateTime<Utc>) -> Condition {
    Condition::any().add(memory::Column::ExpiresAt.is_null()).add(memory::Column::ExpiresAt.gt(now))
}

/// The caller's memory, or 404 (also once it has expired).
pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<memory::Model> {
    memory::Entity::find_by_id(id)
        .filter(memory::Column::AccountId.eq(account_id))
        .filter(live(Utc::now()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "memory" })
}

/// The filters of a listing.
#[derive(Debug, Clone, Default)]
pub struct MemoryFilter {
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    pub kind: Option<String>,
}

/// A page of the caller's live memories, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    account_id: &str,
    filter: &MemoryFilter,
    page: PageRequest,
) -> AppResult<(Vec<memory::Model>, u64)> {
    let mut query = memory::Entity::find().filter(memory::Column::AccountId.eq(account_id)).filter(live(Utc::now()));
    if let Some(agent_id) = &filter.agent_id {
        query = query.filter(memory::Column::AgentId.eq(agent_id.as_str()));
    }
    if let Some(user_id) = &filter.user_id {
        query = query.filter(memory::Column::UserId.eq(user_id.as_str()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(memory::Column::Kind.eq(kind.as_str()));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(memory::Column::CreatedAt)
        .order_by_desc(memory::Column::Id)
        .offset(page.offset())
        .limit(page.limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Changes a memory's content, type or metadata (its expiry stays).
pub async fn update(
    db: &impl ConnectionTrait,
    embedder: Option<&Embedder>,
    account_id: &str,
    id: &str,
    patch: MemoryPatch,
) -> AppResult<memory::Model> {
    let current = get(db, account_id, id).await?;
    let mut active: memory::ActiveModel = current.into();
    if let Some(content) = patch.content {
        validate_content(&content)?;
        active.embedding = Set(embed_document(embedder, &content).await);
        active.content = Set(content);
    }
    if let Some(kind) = patch.kind {
        validate_kind(&kind)?;
        active.kind = Set(kind);
    }
    if let Some(metadata) = patch.metadata {
        validate_metadata(&metadata)?;
        active.metadata = Set(metadata);
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

pub async fn delete(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<()> {
    let memory = get(db, account_id, id).await?;
    memory::Entity::delete_by_id(memory.id).exec(db).await?;
    Ok(())
}

/// Deletes every memory that expired before `now`; returns how many.
pub async fn purge_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> AppResult<u64> {
    let result = memory::Entity::delete_many()
        .filter(memory::Column::ExpiresAt.is_not_null())
        .filter(memory::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Checks a search query: present, not blank, with at least one word.
pub fn validate_query(query: &str) -> AppResult<Vec<String>> {
    if query.trim().is_empty() {
        return Err(AppError::validation("q", "must not be empty"));
    }
    if query.chars().count() > 1000 {
        return Err(AppError::validation("q", "must be at most 1000 characters"));
    }
    let terms = query_terms(query);
    if terms.is_empty() {
        return Err(AppError::validation("q", "must contain at least one word"));
    }
    Ok(terms)
}

/// A memory search: whose memories, which words, how many.
#[derive(Debug, Clone, Copy)]
pub struct Search<'a> {
    pub account_id: &'a str,
    pub agent_id: &'a str,
    pub users: Users<'a>,
    pub query: &'a str,
    pub limit: u64,
    /// Semantic hits below this cosine similarity are dropped (0 keeps every one).
    pub min_similarity: f64,
}

/// Whether a memory may be used in `conversation_id`: memories the `memory` skill saved with the `conversation`
/// scope (`metadata.scope`) belong to the conversation they were saved in.
pub fn usable_in(memory: &memory::Model, conversation_id: &str) -> bool {
    memory.metadata.get("scope").and_then(Value::as_str) != Some("conversation")
        || memory.conversation_id.as_deref() == Some(conversation_id)
}

/// The users a read covers, as a condition on `memories`.
fn users_condition(users: Users<'_>) -> Condition {
    match users {
        Users::Any => Condition::all(),
        Users::Only(user) => Condition::all().add(memory::Column::UserId.eq(user)),
        Users::WithShared(None) => Condition::all().add(memory::Column::UserId.is_null()),
        Users::WithShared(Some(user)) => {
            Condition::any().add(memory::Column::UserId.eq(user)).add(memory::Column::UserId.is_null())
        }
    }
}

/// The agent's live memories most relevant to `query`, best first: full-text matches of any of its words and,
/// with an embedder, the nearest of the scope's [`SEMANTIC_WINDOW`] newest memories, fused by reciprocal rank
/// (each hit's `score` is then its fused score). Semantic hits below `min_similarity` (cosine) are dropped: nearest
/// is not necessarily relevant. Without an embedder (or when it fails) the score is the full-text rank.
#[tracing::instrument(skip_all, fields(account_id = %search.account_id, agent_id = %search.agent_id), err(level = "debug"))]
pub async fn search(
    db: &impl ConnectionTrait,
    embedder: Option<&Embedder>,
    search: &Search<'_>,
) -> AppResult<Vec<Scored>> {
    let Search { account_id, agent_id, users, query, limit, min_similarity } = *search;
    let limit = limit.clamp(1, 100);
    let terms = query_terms(query);
    let mut values: Vec<SqlValue> = vec![account_id.into(), agent_id.into(), Utc::now().into()];
    let mut filter = "t.account_id = $2 AND t.agent_id = $3 AND (t.expires_at IS NULL OR t.expires_at > $4)".to_owned();
    match users {
        Users::Any => {}
        Users::Only(user) => {
            values.push(user.into());
            filter.push_str(" AND t.user_id = $5");
        }
        Users::WithShared(None) => filter.push_str(" AND t.user_id IS NULL"),
        Users::WithShared(Some(user)) => {
            values.push(user.into());
            filter.push_str(" AND (t.user_id = $5 OR t.user_id IS NULL)");
        }
    }
    let candidates = if embedder.is_some() { limit * 2 } else { limit };
    let text_hits = fulltext::ranked(db, &INDEX, &terms, &filter, values, "t.created_at DESC", candidates).await?;
    let semantic_hits = match embedder {
        Some(embedder) => {
            let mut near = semantic(db, embedder, account_id, agent_id, users, query, candidates).await?;
            near.retain(|(_, similarity)| *similarity >= min_similarity);
            near
        }
        None => Vec::new(),
    };
    let hits = if semantic_hits.is_empty() { text_hits } else { fuse(&[text_hits, semantic_hits], limit) };
    let ids: Vec<String> = hits.iter().map(|(id, _)| id.clone()).collect();
    let mut found: std::collections::HashMap<String, memory::Model> = memory::Entity::find()
        .filter(memory::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    Ok(hits.into_iter().filter_map(|(id, score)| found.remove(&id).map(|memory| Scored { memory, score })).collect())
}

/// The scope's newest memories nearest to the query, as `(id, cosine similarity)`, best first. Empty when the
/// query cannot be embedded (the search falls back to full text).
async fn semantic(
    db: &impl ConnectionTrait,
    embedder: &Embedder,
    account_id: &str,
    agent_id: &str,
    users: Users<'_>,
    query: &str,
    limit: u64,
) -> AppResult<Vec<(String, f64)>> {
    let vector = match embedder.embed(&[query], true).await {
        Ok(mut vectors) => vectors.pop().unwrap_or_default(),
        Err(err) => {
            tracing::warn!(error = %err, "could not embed a search query; full-text results only");
            return Ok(Vec::new());
        }
    };
    let rows: Vec<(String, Option<Value>)> = memory::Entity::find()
        .select_only()
        .column(memory::Column::Id)
        .column(memory::Column::Embedding)
        .filter(memory::Column::AccountId.eq(account_id))
        .filter(memory::Column::AgentId.eq(agent_id))
        .filter(memory::Column::Embedding.is_not_null())
        .filter(live(Utc::now()))
        .filter(users_condition(users))
        .order_by_desc(memory::Column::CreatedAt)
        .limit(SEMANTIC_WINDOW)
        .into_tuple()
        .all(db)
        .await?;
    let mut scored: Vec<(String, f64)> = rows
        .into_iter()
        .filter_map(|(id, stored)| {
            let stored = embeddings::decode(stored?.as_str()?)?;
            Some((id, f64::from(embeddings::similarity(&vector, &stored))))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(scored)
}

/// Reciprocal rank fusion of ranked lists: each id scores `Σ 1 / (RRF_K + rank)` over the lists it is in.
fn fuse(lists: &[Vec<(String, f64)>], limit: u64) -> Vec<(String, f64)> {
    let mut fused: Vec<(String, f64)> = Vec::new();
    for list in lists {
        for (rank, (id, _)) in list.iter().enumerate() {
            let score = 1.0 / (RRF_K + rank as f64 + 1.0);
            match fused.iter_mut().find(|(seen, _)| seen == id) {
                Some((_, total)) => *total += score,
                None => fused.push((id.clone(), score)),
            }
        }
    }
    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
    fused.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_rewards_agreement() {
        let text = vec![("a".to_owned(), 9.0), ("b".to_owned(), 5.0)];
        let meaning = vec![("c".to_owned(), 0.9), ("b".to_owned(), 0.8)];
        let fused = fuse(&[text, meaning], 10);
        assert_eq!(fused[0].0, "b", "in both lists: {fused:?}");
        assert_eq!(fused.len(), 3);
        assert_eq!(fuse(&[vec![("a".to_owned(), 1.0)]], 0).len(), 0);
    }
}
