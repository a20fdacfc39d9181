//! Webhook endpoint bodies: `{"url","events","secret"}` as in the announcement.
use async_graphql::InputObject;

use crate::services::webhooks::{NewWebhook, WebhookPatch};

#[derive(InputObject)]
pub struct CreateWebhookInput {
    pub url: String,
    /// Event types to deliver, e.g. `["message.received","task.completed"]`; `["*"]` for all.
    pub events: Vec<String>,
    /// Your signing secret (8–256 characters); generated (`whsec_…`) when omitted and returned once.
    pub secret: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

impl From<CreateWebhookInput> for NewWebhook {
    fn from(input: CreateWebhookInput) -> Self {
        Self {
            url: input.url,
            events: input.events,
            secret: input.secret,
            description: input.description,
            enabled: input.enabled,
        }
    }
}

#[derive(InputObject)]
pub struct UpdateWebhookInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    /// Re-enabling an endpoint disabled for failures forgives them.
    pub enabled: Option<bool>,
}

impl From<UpdateWebhookInput> for WebhookPatch {
    fn from(input: UpdateWebhookInput) -> Self {
        Self { url: input.url, events: input.events, description: input.description.map(Some), enabled: input.enabled }
    }
}

#[derive(InputObject, Default)]
pub struct RotateWebhookSecretInput {
    /// The new secret; generated when omitted.
    pub secret: Option<String>,
    /// How long the previous secret keeps signing (a second signature), default 86400, at most 604800.
    pub grace_period_seconds: Option<i64>,
}
