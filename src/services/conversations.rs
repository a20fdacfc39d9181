//! Conversations: opened with one agent, optionally for one end user (`context.userId`), with settings that
//! override the agent's model settings. Scoped to the caller's account like everything else.
use crate::db::Db;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};

use super::{
    agents,
    cursor::{CursorInfo, CursorRequest},
    events, models,
};
use crate::{
    error::{AppError, AppResult},
    events::{Event, EventKind},
};
use entity::conversation;

pub const STATUSES: &[&str] = &["active", "archived"];
const MAX_USER_ID: usize = 200;
const MAX_METADATA_BYTES: usize = 16 * 1024;

/// What `createConversation` needs, already parsed (model references resolved, numbers typed).
#[derive(Debug, Clone, Default)]
pub struct NewConversation {
    pub agent_id: String,
    pub user_id: Option<String>,
    pub metadata: Option<Value>,
    pub model: Option<models::ModelRef>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub agent_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<String>,
}

/// Creates a conversation and records `conversation.created` in the same transaction; returns the event to
/// publish once committed.
#[tracing::instrument(skip_all, fields(account_id = %account_id), err(level = "debug"))]
pub async fn create(db: &Db, account_id: &str, new: NewConversation) -> AppResult<(conversation::Model, Event)> {
    validate(&new)?;
    let txn = crate::db::begin_write(db).await?;
    // The agent must be the caller's: another tenant's agent is a validation error naming the field, as a
    // missing one is (never revealing that it exists).
    agents::get(&txn, account_id, &new.agent_id).await.map_err(|_| AppError::validation("agentId", "no such agent"))?;
    let now = Utc::now();
    let (provider, name) = new.model.map(|m| (m.provider, m.name)).unzip();
    let created = conversation::ActiveModel {
        id: Set(crate::ids::new_id("conv")),
        account_id: Set(account_id.to_owned()),
        agent_id: Set(new.agent_id),
        user_id: Set(new.user_id),
        metadata: Set(new.metadata.unwrap_or_else(|| json!({}))),
        model_provider: Set(provider),
        model_name: Set(name),
        temperature: Set(new.temperature),
        max_tokens: Set(new.max_tokens),
        status: Set("active".to_owned()),
        active_reply_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let event = Event::new(
        EventKind::ConversationCreated,
        account_id,
        &created.id,
        json!({ "conversationId": created.id, "agentId": created.agent_id, "userId": created.user_id }),
    );
    events::record(&txn, &event).await?;
    txn.commit().await?;
    Ok((created, event))
}

fn validate(new: &NewConversation) -> AppResult<()> {
    if new.agent_id.trim().is_empty() {
        return Err(AppError::validation("agentId", "is required"));
    }
    if let Some(user) = &new.user_id
        && (user.trim().is_empty() || user.chars().count() > MAX_USER_ID || user.chars().any(char::is_control))
    {
        return Err(AppError::validation("context.userId", format!("must be 1-{MAX_USER_ID} printable characters")));
    }
    if let Some(metadata) = &new.metadata {
        if !metadata.is_object() {
            return Err(AppError::validation("context.metadata", "must be an object"));
        }
        if serde_json::to_vec(metadata).map_or(0, |b| b.len()) > MAX_METADATA_BYTES {
            return Err(AppError::validation(
                "context.metadata",
                format!("must be at most {MAX_METADATA_BYTES} bytes"),
            ));
        }
    }
    if let Some(t) = new.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(AppError::validation("settings.temperature", "must be between 0 and 2"));
    }
    if let Some(m) = new.max_tokens
        && !(1..=1_000_000).contains(&m)
    {
        return Err(AppError::validation("settings.maxTokens", "must be between 1 and 1000000"));
    }
    Ok(())
}

/// The model this conversation overrides its agent's with, if any (`settings.model`).
pub fn model_override(conversation: &conversation::Model) -> Option<models::ModelRef> {
    match (&conversation.model_provider, &conversation.model_name) {
        (Some(provider), Some(name)) => Some(models::ModelRef { provider: provider.clone(), name: name.clone() }),
        _ => None,
    }
}

/// The caller's conversation, or 404.
pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<conversation::Model> {
    conversation::Entity::find_by_id(id)
        .filter(conversation::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "conversation" })
}

/// A page of the caller's conversations, newest first.
pub async fn list(
    db: &Db,
    account_id: &str,
    filter: ConversationFilter,
    cursor: &CursorRequest,
) -> AppResult<(Vec<conversation::Model>, CursorInfo)> {
    let mut query = conversation::Entity::find().filter(conversation::Column::AccountId.eq(account_id));
    if let Some(agent_id) = filter.agent_id {
        query = query.filter(conversation::Column::AgentId.eq(agent_id));
    }
    if let Some(user_id) = filter.user_id {
        query = query.filter(conversation::Column::UserId.eq(user_id));
    }
    if let Some(status) = filter.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(AppError::validation("status", "must be `active` or `archived`"));
        }
        query = query.filter(conversation::Column::Status.eq(status));
    }
    if let Some(after) = &cursor.after {
        query = query.filter(conversation::Column::Id.lt(after.as_str()));
    }
    let rows = query.order_by_desc(conversation::Column::Id).limit(cursor.limit + 1).all(db).await?;
    Ok(cursor.page(rows, |c| c.id.clone()))
}

/// Sets `status` (`active` or `archived`). Archived conversations keep their history but take no new messages.
pub async fn set_status(db: &Db, account_id: &str, id: &str, status: &str) -> AppResult<conversation::Model> {
    let current = get(db, account_id, id).await?;
    let mut active: conversation::ActiveModel = current.into();
    active.status = Set(status.to_owned());
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Deletes the conversation and its messages (cascade).
pub async fn delete(db: &Db, account_id: &str, id: &str) -> AppResult<conversation::Model> {
    let current = get(db, account_id, id).await?;
    conversation::Entity::delete_by_id(id).filter(conversation::Column::AccountId.eq(account_id)).exec(db).await?;
    Ok(current)
}
