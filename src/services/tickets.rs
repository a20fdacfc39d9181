//! Support tickets: created by the `ticket-system` skill during a run (or through the API), listed and updated
//! through the API, and announced by `ticket.created` (deliverable by webhook).
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde_json::json;

use super::{events, pagination::PageRequest};
use crate::{
    db::Db,
    error::{AppError, AppResult},
    events::{Event, EventKind},
};
use entity::ticket;

pub const PRIORITIES: [&str; 4] = ["low", "medium", "high", "urgent"];
pub const STATUSES: [&str; 4] = ["open", "in_progress", "resolved", "closed"];

#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    pub title: String,
    pub description: String,
    pub priority: Option<String>,
    pub project: Option<String>,
    pub agent_id: Option<String>,
    pub conversation_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    pub status: Option<String>,
    pub priority: Option<String>,
}

fn check(field: &str, value: &str, allowed: &[&str]) -> AppResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(AppError::validation(field, format!("must be one of {}", allowed.join(", "))))
    }
}

/// Stores a ticket and records `ticket.created` in the same transaction; returns the event to publish.
pub async fn create(db: &Db, account_id: &str, new: NewTicket) -> AppResult<(ticket::Model, Event)> {
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(AppError::validation("title", "must be 1-200 characters without control characters"));
    }
    if new.description.chars().count() > 10_000 {
        return Err(AppError::validation("description", "must be at most 10000 characters"));
    }
    let priority = new.priority.unwrap_or_else(|| "medium".to_owned());
    check("priority", &priority, &PRIORITIES)?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model = ticket::ActiveModel {
        id: Set(crate::ids::new_id("tkt")),
        account_id: Set(account_id.to_owned()),
        agent_id: Set(new.agent_id),
        conversation_id: Set(new.conversation_id),
        project: Set(new.project),
        title: Set(title.to_owned()),
        description: Set(new.description),
        priority: Set(priority),
        status: Set("open".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let event = Event::new(
        EventKind::TicketCreated,
        account_id,
        &model.id,
        json!({ "ticketId": model.id, "title": model.title, "priority": model.priority, "project": model.project,
                "agentId": model.agent_id, "conversationId": model.conversation_id }),
    );
    events::record(&txn, &event).await?;
    txn.commit().await?;
    Ok((model, event))
}

pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<ticket::Model> {
    ticket::Entity::find_by_id(id)
        .filter(ticket::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "ticket" })
}

/// The account's tickets, newest first, optionally of one status.
pub async fn list(
    db: &impl ConnectionTrait,
    account_id: &str,
    status: Option<&str>,
    page: PageRequest,
) -> AppResult<(Vec<ticket::Model>, u64)> {
    let mut query = ticket::Entity::find().filter(ticket::Column::AccountId.eq(account_id));
    if let Some(status) = status {
        check("status", status, &STATUSES)?;
        query = query.filter(ticket::Column::Status.eq(status));
    }
    let total = query.clone().count(db).await?;
    let rows = query.order_by_desc(ticket::Column::Id).offset(page.offset()).limit(page.limit).all(db).await?;
    Ok((rows, total))
}

pub async fn update(
    db: &impl ConnectionTrait,
    account_id: &str,
    id: &str,
    patch: TicketPatch,
) -> AppResult<ticket::Model> {
    let current = get(db, account_id, id).await?;
    let mut active: ticket::ActiveModel = current.into();
    if let Some(status) = patch.status {
        check("status", &status, &STATUSES)?;
        active.status = Set(status);
    }
    if let Some(priority) = patch.priority {
        check("priority", &priority, &PRIORITIES)?;
        active.priority = Set(priority);
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}
