//! Webhook endpoints (CRUD, secret rotation, test ping) and their deliveries: the outbox rows written in the
//! transaction of each event, every attempt, redelivery.
use crate::db::Db;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};

use super::{
    cursor::{CursorInfo, CursorRequest},
    events,
    pagination::PageRequest,
};
use crate::{
    error::{AppError, AppResult},
    events::{Event, EventKind},
    outbound::OutboundGuard,
    webhooks::signing,
};
use entity::{account, webhook, webhook_attempt, webhook_delivery};

/// Subscribes an endpoint to every event type.
pub const ALL_EVENTS: &str = "*";
const MAX_URL: usize = 2048;
const MAX_SECRET: usize = 256;
const MIN_SECRET: usize = 8;
const MAX_DESCRIPTION: usize = 500;
/// Longest accepted grace period of a rotation.
pub const MAX_GRACE_SECS: i64 = 7 * 24 * 3600;

pub mod status {
    pub const PENDING: &str = "pending";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
}

#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

fn validate_url(guard: &OutboundGuard, url: &str) -> AppResult<()> {
    if url.len() > MAX_URL {
        return Err(AppError::validation("url", format!("must be at most {MAX_URL} characters")));
    }
    guard
        .check_url(url)
        .map(|_| ())
        .map_err(|err| AppError::BadRequest { code: err.code(), message: format!("url: {err}") })
}

fn validate_events(events: &[String]) -> AppResult<Value> {
    if events.is_empty() {
        return Err(AppError::validation("events", "name at least one event type (or \"*\" for all)"));
    }
    if events.len() > EventKind::ALL.len() + 1 {
        return Err(AppError::validation("events", "too many event types"));
    }
    for name in events {
        if name != ALL_EVENTS && EventKind::parse(name).is_none() {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(AppError::validation(
                "events",
                format!("unknown event type `{name}` (known: {})", known.join(", ")),
            ));
        }
    }
    let mut unique: Vec<&String> = Vec::new();
    for name in events {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    Ok(json!(unique))
}

fn validate_secret(secret: &str) -> AppResult<()> {
    if !(MIN_SECRET..=MAX_SECRET).contains(&secret.len()) {
        return Err(AppError::validation("secret", format!("must be {MIN_SECRET} to {MAX_SECRET} characters")));
    }
    if secret.chars().any(char::is_control) {
        return Err(AppError::validation("secret", "must not contain control characters"));
    }
    Ok(())
}

fn validate_description(description: &Option<String>) -> AppResult<()> {
    match description {
        Some(text) if text.chars().count() > MAX_DESCRIPTION => {
            Err(AppError::validation("description", format!("must be at most {MAX_DESCRIPTION} characters")))
        }
        _ => Ok(()),
    }
}

/// Registers an endpoint, unless the account already has `max_endpoints` (each event fans out to every endpoint, so
/// their number bounds the deliveries one event costs).
pub async fn create(
    db: &Db,
    guard: &OutboundGuard,
    account_id: &str,
    max_endpoints: u64,
    new: NewWebhook,
) -> AppResult<webhook::Model> {
    validate_url(guard, &new.url)?;
    let events = validate_events(&new.events)?;
    if let Some(secret) = &new.secret {
        validate_secret(secret)?;
    }
    validate_description(&new.description)?;
    // Counted and inserted in one write transaction, so concurrent creates cannot both pass the count: SQLite's
    // `BEGIN IMMEDIATE` serializes writers; on PostgreSQL the account row is locked for the same effect.
    let txn = crate::db::begin_write(db).await?;
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        account::Entity::find_by_id(account_id).lock_exclusive().one(&txn).await?;
    }
    let existing = webhook::Entity::find().filter(webhook::Column::AccountId.eq(account_id)).count(&txn).await?;
    if existing >= max_endpoints {
        return Err(AppError::Conflict {
            code: "webhook_limit_reached",
            message: format!(
                "this account already has {existing} webhook endpoints; the limit is {max_endpoints} (delete one, or subscribe an existing endpoint to more events)"
            ),
        });
    }
    let now = Utc::now();
    let created = webhook::ActiveModel {
        id: Set(crate::ids::new_id("wh")),
        account_id: Set(account_id.to_owned()),
        url: Set(new.url),
        description: Set(new.description),
        events: Set(events),
        secret: Set(new.secret.unwrap_or_else(signing::generate_secret)),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        enabled: Set(new.enabled.unwrap_or(true)),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(created)
}

pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .filter(webhook::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "webhook" })
}

pub async fn list(db: &Db, account_id: &str, page: PageRequest) -> AppResult<(Vec<webhook::Model>, u64)> {
    let query = webhook::Entity::find().filter(webhook::Column::AccountId.eq(account_id));
    let total = query.clone().count(db).await?;
    let rows = query.order_by_asc(webhook::Column::Id).offset(page.offset()).limit(page.limit).all(db).await?;
    Ok((rows, total))
}

pub async fn update(
    db: &Db,
    guard: &OutboundGuard,
    account_id: &str,
    id: &str,
    patch: WebhookPatch,
) -> AppResult<webhook::Model> {
    if let Some(url) = &patch.url {
        validate_url(guard, url)?;
    }
    let events = patch.events.as_deref().map(validate_events).transpose()?;
    if let Some(description) = &patch.description {
        validate_description(description)?;
    }
    let current = get(db, account_id, id).await?;
    let mut active = current.into_active_model();
    if let Some(url) = patch.url {
        active.url = Set(url);
    }
    if let Some(events) = events {
        active.events = Set(events);
    }
    if let Some(description) = patch.description {
        active.description = Set(description);
    }
    if let Some(enabled) = patch.enabled {
        active.enabled = Set(enabled);
        if enabled {
            // Re-enabling forgives past failures.
            active.disabled_reason = Set(None);
            active.failing_since = Set(None);
        } else {
            active.disabled_reason = Set(Some("disabled by the account".into()));
        }
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

pub async fn delete(db: &Db, account_id: &str, id: &str) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let found = get(&txn, account_id, id).await?;
    // Pending deliveries of a deleted endpoint have nowhere to go; their history goes with it.
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(&found.id))
        .exec(&txn)
        .await?;
    webhook::Entity::delete_by_id(found.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// A new secret signs from now on; the old one keeps signing too (a second signature) for `grace`, so receivers
/// can switch without dropping deliveries. Returns the endpoint with its new secret.
pub async fn rotate_secret(
    db: &Db,
    account_id: &str,
    id: &str,
    secret: Option<String>,
    grace_secs: Option<i64>,
) -> AppResult<webhook::Model> {
    if let Some(secret) = &secret {
        validate_secret(secret)?;
    }
    let grace = grace_secs.unwrap_or(24 * 3600);
    if !(0..=MAX_GRACE_SECS).contains(&grace) {
        return Err(AppError::validation("gracePeriodSeconds", format!("must be between 0 and {MAX_GRACE_SECS}")));
    }
    let current = get(db, account_id, id).await?;
    let now = Utc::now();
    let old = current.secret.clone();
    let mut active = current.into_active_model();
    active.secret = Set(secret.unwrap_or_else(signing::generate_secret));
    active.previous_secret = Set((grace > 0).then_some(old));
    active.previous_secret_expires_at = Set((grace > 0).then(|| now + Duration::seconds(grace)));
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// The secrets that sign a delivery to this endpoint now: the current one, and the previous one during its grace.
pub fn signing_secrets(hook: &webhook::Model, now: DateTime<Utc>) -> Vec<String> {
    let mut secrets = vec![hook.secret.clone()];
    if let (Some(previous), Some(until)) = (&hook.previous_secret, hook.previous_secret_expires_at)
        && until > now
    {
        secrets.push(previous.clone());
    }
    secrets
}

fn subscribed(hook: &webhook::Model, kind: EventKind) -> bool {
    hook.events.as_array().is_some_and(|names| {
        names.iter().filter_map(Value::as_str).any(|name| name == ALL_EVENTS || name == kind.as_str())
    })
}

/// A new delivery row (pending, due now).
pub fn new_delivery(account_id: &str, event: &Event, payload: String) -> webhook_delivery::ActiveModel {
    let now = Utc::now();
    webhook_delivery::ActiveModel {
        id: Set(crate::ids::new_id("dlv")),
        account_id: Set(account_id.to_owned()),
        webhook_id: Set(None),
        task_id: Set(None),
        event_id: Set(event.id.clone()),
        event_type: Set(event.kind.as_str().to_owned()),
        url: Set(None),
        headers: Set(None),
        secret: Set(None),
        payload: Set(payload),
        status: Set(status::PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        last_status: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        completed_at: Set(None),
    }
}

/// The outbox: one pending delivery per enabled endpoint subscribed to the event, in the event's transaction.
/// Returns how many were queued.
pub async fn enqueue(db: &impl ConnectionTrait, event: &Event) -> AppResult<usize> {
    if event.kind == EventKind::WebhookTest {
        return Ok(0); // a ping goes only to the endpoint it tests
    }
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::AccountId.eq(&event.account_id))
        .filter(webhook::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let targets: Vec<_> = hooks.iter().filter(|hook| subscribed(hook, event.kind)).collect();
    if targets.is_empty() {
        return Ok(0);
    }
    let payload = signing::body(&event.envelope());
    for hook in &targets {
        let mut delivery = new_delivery(&event.account_id, event, payload.clone());
        delivery.webhook_id = Set(Some(hook.id.clone()));
        delivery.insert(db).await?;
    }
    Ok(targets.len())
}

/// Sends a `webhook.test` event to this endpoint only (even when disabled or not subscribed to it).
pub async fn ping(db: &Db, account_id: &str, id: &str) -> AppResult<(webhook_delivery::Model, Event)> {
    let txn = crate::db::begin_write(db).await?;
    let hook = get(&txn, account_id, id).await?;
    let event =
        Event::new(EventKind::WebhookTest, account_id, &hook.id, json!({ "webhookId": hook.id, "url": hook.url }));
    events::record(&txn, &event).await?;
    let mut delivery = new_delivery(account_id, &event, signing::body(&event.envelope()));
    delivery.webhook_id = Set(Some(hook.id));
    let delivery = delivery.insert(&txn).await?;
    txn.commit().await?;
    Ok((delivery, event))
}

/// A delivery with its attempts, oldest first.
#[derive(Debug, Clone)]
pub struct DeliveryWithAttempts {
    pub delivery: webhook_delivery::Model,
    pub attempts: Vec<webhook_attempt::Model>,
}

/// An endpoint's deliveries, newest first, each with its attempts.
pub async fn deliveries(
    db: &Db,
    account_id: &str,
    webhook_id: &str,
    status_filter: Option<String>,
    cursor: CursorRequest,
) -> AppResult<(Vec<DeliveryWithAttempts>, CursorInfo)> {
    let hook = get(db, account_id, webhook_id).await?;
    let mut query = webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(&hook.id));
    if let Some(wanted) = status_filter {
        if ![status::PENDING, status::SUCCEEDED, status::FAILED].contains(&wanted.as_str()) {
            return Err(AppError::validation("status", "must be pending, succeeded or failed"));
        }
        query = query.filter(webhook_delivery::Column::Status.eq(wanted));
    }
    if let Some(after) = &cursor.after {
        query = query.filter(webhook_delivery::Column::Id.lt(after.as_str()));
    }
    let rows = query.order_by_desc(webhook_delivery::Column::Id).limit(cursor.limit + 1).all(db).await?;
    let (rows, info) = cursor.page(rows, |d| d.id.clone());
    let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
    let mut attempts = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
        .order_by_asc(webhook_attempt::Column::Attempt)
        .all(db)
        .await?;
    let items = rows
        .into_iter()
        .map(|delivery| {
            let mine: Vec<_> = attempts.extract_if(.., |a| a.delivery_id == delivery.id).collect();
            DeliveryWithAttempts { delivery, attempts: mine }
        })
        .collect();
    Ok((items, info))
}

/// Queues the same payload again as a new delivery (same event id, so receivers dedupe), due now.
/// With `webhook_id`, the delivery must be that endpoint's.
pub async fn redeliver(
    db: &Db,
    account_id: &str,
    delivery_id: &str,
    webhook_id: Option<&str>,
) -> AppResult<webhook_delivery::Model> {
    let original = webhook_delivery::Entity::find_by_id(delivery_id)
        .filter(webhook_delivery::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .filter(|d| webhook_id.is_none_or(|w| d.webhook_id.as_deref() == Some(w)))
        .ok_or(AppError::NotFound { resource: "delivery" })?;
    let now = Utc::now();
    let mut copy = original.into_active_model();
    copy.id = Set(crate::ids::new_id("dlv"));
    copy.status = Set(status::PENDING.into());
    copy.attempts = Set(0);
    copy.next_attempt_at = Set(now);
    copy.lease_until = Set(None);
    copy.last_status = Set(None);
    copy.last_error = Set(None);
    copy.created_at = Set(now);
    copy.updated_at = Set(now);
    copy.completed_at = Set(None);
    Ok(copy.insert(db).await?)
}

/// One delivery of this account (for the GraphQL `delivery` field and tenant checks).
pub async fn delivery(db: &Db, account_id: &str, id: &str) -> AppResult<DeliveryWithAttempts> {
    let delivery = webhook_delivery::Entity::find_by_id(id)
        .filter(webhook_delivery::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "delivery" })?;
    let attempts = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(&delivery.id))
        .order_by_asc(webhook_attempt::Column::Attempt)
        .all(db)
        .await?;
    Ok(DeliveryWithAttempts { delivery, attempts })
}
