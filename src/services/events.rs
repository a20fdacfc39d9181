//! The event log (outbox): every domain event is inserted in the transaction of the change that caused it,
//! together with one pending delivery per subscribed webhook endpoint, and published on the bus only after that
//! transaction commits (so nobody hears of a change that was rolled back, and nothing committed goes unsent).
use crate::db::Db;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::{
    cursor::{CursorInfo, CursorRequest},
    webhooks,
};
use crate::{
    error::{AppError, AppResult},
    events::{Event, EventKind},
};
use entity::event;

pub async fn record(db: &impl ConnectionTrait, event: &Event) -> AppResult<()> {
    event::ActiveModel {
        id: Set(event.id.clone()),
        account_id: Set(event.account_id.clone()),
        kind: Set(event.kind.as_str().to_owned()),
        subject_id: Set(event.subject_id.clone()),
        data: Set(event.data.clone()),
        created_at: Set(event.created_at),
    }
    .insert(db)
    .await?;
    webhooks::enqueue(db, event).await?;
    Ok(())
}

/// Parses event type names (`field` names the parameter in errors).
pub fn parse_types(field: &str, names: &[String]) -> AppResult<Vec<EventKind>> {
    names
        .iter()
        .flat_map(|name| name.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            EventKind::parse(name).ok_or_else(|| AppError::validation(field, format!("unknown event type `{name}`")))
        })
        .collect()
}

/// The account's events in the order they happened (oldest first), optionally of some types, after a cursor.
pub async fn list(
    db: &Db,
    account_id: &str,
    types: &[EventKind],
    cursor: CursorRequest,
) -> AppResult<(Vec<Event>, CursorInfo)> {
    let mut query = event::Entity::find().filter(event::Column::AccountId.eq(account_id));
    if !types.is_empty() {
        query = query.filter(event::Column::Kind.is_in(types.iter().map(|k| k.as_str())));
    }
    if let Some(after) = &cursor.after {
        query = query.filter(event::Column::Id.gt(after.as_str()));
    }
    let rows = query.order_by_asc(event::Column::Id).limit(cursor.limit + 1).all(db).await?;
    let (rows, info) = cursor.page(rows, |row| row.id.clone());
    Ok((rows.into_iter().filter_map(from_row).collect(), info))
}

/// One event of this account.
pub async fn get(db: &Db, account_id: &str, id: &str) -> AppResult<Event> {
    event::Entity::find_by_id(id)
        .filter(event::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .and_then(from_row)
        .ok_or(AppError::NotFound { resource: "event" })
}

fn from_row(row: event::Model) -> Option<Event> {
    Some(Event {
        kind: EventKind::parse(&row.kind)?,
        id: row.id,
        account_id: row.account_id,
        subject_id: row.subject_id,
        created_at: row.created_at,
        data: row.data,
    })
}
