//! Opening conversations and sending messages (the seed's bodies, verbatim).
use async_graphql::{ID, InputObject, Json};
use serde_json::Value;

use super::agent::resolve_model;
use crate::{
    error::{AppError, AppResult},
    graphql::{scalars::ModelSpec, types::WhileBusy},
    services::{
        conversations::NewConversation,
        messages::{self, Attachment, NewMessage},
    },
};

/// `POST /v2/conversations` body: `{"agentId","context":{"userId","metadata"},"settings":{"model","temperature","maxTokens"}}`.
#[derive(InputObject)]
pub struct CreateConversationInput {
    pub agent_id: ID,
    pub context: Option<ConversationContextInput>,
    /// Overrides of the agent's model settings for this conversation.
    pub settings: Option<ConversationSettingsInput>,
}

#[derive(InputObject, Default)]
pub struct ConversationContextInput {
    /// Your end user's id, for filtering and (with memory) per-user recall.
    pub user_id: Option<String>,
    /// Free-form JSON object (≤ 16 KiB).
    pub metadata: Option<Json<Value>>,
}

#[derive(InputObject, Default)]
pub struct ConversationSettingsInput {
    /// `"gpt-4"`, `"openai/gpt-4"` or `{provider, name}`.
    pub model: Option<ModelSpec>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i64>,
}

impl CreateConversationInput {
    pub fn into_new(self) -> AppResult<NewConversation> {
        let context = self.context.unwrap_or_default();
        let settings = self.settings.unwrap_or_default();
        let model = settings.model.as_ref().map(resolve_model).transpose().map_err(|e| match e {
            AppError::Validation { field, message } => AppError::validation(format!("settings.{field}"), message),
            other => other,
        })?;
        let max_tokens = settings
            .max_tokens
            .or(settings.model.as_ref().and_then(|m| m.max_tokens))
            .map(|m| {
                i32::try_from(m)
                    .map_err(|_| AppError::validation("settings.maxTokens", "must be between 1 and 1000000"))
            })
            .transpose()?;
        Ok(NewConversation {
            agent_id: self.agent_id.0,
            user_id: context.user_id,
            metadata: context.metadata.map(|m| m.0),
            model,
            temperature: settings.temperature.or(settings.model.as_ref().and_then(|m| m.temperature)),
            max_tokens,
        })
    }
}

/// `POST /v2/conversations/{id}/messages` body: `{"content","attachments":[…],"stream":true}`.
#[derive(InputObject)]
pub struct SendMessageInput {
    pub content: String,
    /// `{"type":"file","url":"…"}` or `{"type":"file","fileId":"file-…"}`.
    pub attachments: Option<Vec<AttachmentInput>>,
    /// REST only: answer as `text/event-stream`. GraphQL clients subscribe to `messageStream` instead.
    #[graphql(default = false)]
    pub stream: bool,
    /// When a reply is already running: `reject` (409, the default) or `enqueue`.
    #[graphql(default)]
    pub while_busy: WhileBusy,
}

#[derive(InputObject)]
pub struct AttachmentInput {
    #[graphql(name = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub file_id: Option<String>,
}

impl SendMessageInput {
    pub fn into_new(self) -> NewMessage {
        NewMessage {
            content: self.content,
            attachments: self
                .attachments
                .unwrap_or_default()
                .into_iter()
                .map(|a| Attachment { kind: a.kind, url: a.url, file_id: a.file_id })
                .collect(),
            while_busy: match self.while_busy {
                WhileBusy::Reject => messages::WhileBusy::Reject,
                WhileBusy::Enqueue => messages::WhileBusy::Enqueue,
            },
        }
    }
}
