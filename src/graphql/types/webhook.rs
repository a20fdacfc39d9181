//! Webhook endpoints, their deliveries and attempts, and the event log's pages.
use async_graphql::{ID, Json, Object, SimpleObject};
use serde_json::Value;

use super::{DomainEvent, conversation::CursorPagination};
use crate::{graphql::scalars::DateTime, services::webhooks::DeliveryWithAttempts};
use entity::{webhook, webhook_attempt};

/// A webhook endpoint. `secret` is shown only when it is created or rotated.
pub struct Webhook {
    pub model: webhook::Model,
    pub reveal_secret: bool,
}

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    async fn url(&self) -> &str {
        &self.model.url
    }
    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }
    /// Event types delivered (`*` = all).
    async fn events(&self) -> Vec<String> {
        self.model
            .events
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
    async fn enabled(&self) -> bool {
        self.model.enabled
    }
    /// Why the endpoint is disabled (`410 Gone`, failing for days, or by the account).
    async fn disabled_reason(&self) -> Option<&str> {
        self.model.disabled_reason.as_deref()
    }
    /// The signing secret: only in the response that created or rotated it. Store it then.
    async fn secret(&self) -> Option<&str> {
        self.reveal_secret.then_some(self.model.secret.as_str())
    }
    /// Until when the previous secret still signs (a second signature), after a rotation.
    async fn previous_secret_expires_at(&self) -> Option<DateTime> {
        self.model.previous_secret_expires_at.map(DateTime)
    }
    /// Since when deliveries have been failing (null while healthy).
    async fn failing_since(&self) -> Option<DateTime> {
        self.model.failing_since.map(DateTime)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.model.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.model.updated_at)
    }
}

#[derive(SimpleObject)]
pub struct WebhookPage {
    pub webhooks: Vec<Webhook>,
    pub pagination: super::Pagination,
}

/// One event on its way to one endpoint (or a task's callback URL).
pub struct Delivery(pub DeliveryWithAttempts);

#[Object]
impl Delivery {
    async fn id(&self) -> ID {
        ID(self.0.delivery.id.clone())
    }
    async fn webhook_id(&self) -> Option<ID> {
        self.0.delivery.webhook_id.clone().map(ID)
    }
    async fn task_id(&self) -> Option<ID> {
        self.0.delivery.task_id.clone().map(ID)
    }
    async fn event_id(&self) -> ID {
        ID(self.0.delivery.event_id.clone())
    }
    async fn event_type(&self) -> &str {
        &self.0.delivery.event_type
    }
    /// pending | succeeded | failed
    async fn status(&self) -> &str {
        &self.0.delivery.status
    }
    async fn attempt_count(&self) -> i32 {
        self.0.delivery.attempts
    }
    /// When the next attempt is due (pending deliveries only).
    async fn next_attempt_at(&self) -> Option<DateTime> {
        (self.0.delivery.status == "pending").then_some(DateTime(self.0.delivery.next_attempt_at))
    }
    async fn last_status(&self) -> Option<i32> {
        self.0.delivery.last_status
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.delivery.last_error.as_deref()
    }
    /// The body sent (exactly these bytes are signed).
    async fn payload(&self) -> Json<Value> {
        Json(serde_json::from_str(&self.0.delivery.payload).unwrap_or(Value::Null))
    }
    async fn attempts(&self) -> Vec<DeliveryAttempt> {
        self.0.attempts.iter().cloned().map(DeliveryAttempt).collect()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.delivery.created_at)
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.delivery.completed_at.map(DateTime)
    }
}

/// One HTTP attempt: the receiver's status (null when it could not be reached), latency and answer excerpt.
pub struct DeliveryAttempt(pub webhook_attempt::Model);

#[Object]
impl DeliveryAttempt {
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }
    async fn latency_ms(&self) -> i64 {
        self.0.latency_ms
    }
    /// The first 1 KiB of the response body.
    async fn response_excerpt(&self) -> Option<&str> {
        self.0.response_excerpt.as_deref()
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

#[derive(SimpleObject)]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    pub pagination: CursorPagination,
}

#[derive(SimpleObject)]
pub struct EventPage {
    pub events: Vec<DomainEvent>,
    pub pagination: CursorPagination,
}
