//! `memory`: the model saves what is worth remembering and searches what it saved. The install config's `scope`
//! decides whose memories these are: `user` (the conversation's user; the default), `agent` (shared by everyone
//! the agent talks to) or `conversation` (this conversation only). `maxItems` bounds how many one scope keeps.
use async_trait::async_trait;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Skill, ToolContext, ToolError, arguments, config_str, config_u64};
use crate::{
    error::AppError,
    llm::ToolSpec,
    services::memories::{self, NewMemory, Search, Users},
};
use entity::memory;

pub struct MemorySkill;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    content: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    limit: Option<u64>,
}

/// The scope's user filter and, for `conversation`, the conversation. A `user` scope in a conversation without a
/// `userId` has no user to keep memories for: saving them as the agent's shared memories would hand one person's
/// facts to everyone.
fn scope<'a>(ctx: &'a ToolContext<'_>, config: &Value) -> Result<(Option<&'a str>, Option<&'a str>), ToolError> {
    match config_str(config, "scope", "user") {
        "agent" => Ok((None, None)),
        "conversation" => Ok((ctx.user_id, Some(ctx.conversation_id))),
        _ => match ctx.user_id {
            Some(user) => Ok((Some(user), None)),
            None => Err(ToolError::Unavailable(
                "this conversation has no `userId`, and this agent keeps memories per user".into(),
            )),
        },
    }
}

fn failed(err: AppError) -> ToolError {
    match err {
        AppError::Validation { field, message } => ToolError::InvalidArguments(format!("`{field}` {message}")),
        other => ToolError::Failed(other.public_message()),
    }
}

#[async_trait]
impl Skill for MemorySkill {
    fn id(&self) -> &str {
        "memory"
    }

    fn tools(&self, _config: &Value) -> Vec<ToolSpec> {
        vec![
            ToolSpec {
                name: "memory_save".into(),
                description: "Remember a fact about the user or the conversation for later conversations, e.g. \
                              `Prefers answers in French`. Save one short, self-contained fact per call."
                    .into(),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "content": { "type": "string", "description": "The fact, as a sentence." },
                        "type": { "type": "string", "description": "fact, preference, … (default fact)" }
                    },
                    "required": ["content"],
                    "additionalProperties": false
                }),
            },
            ToolSpec {
                name: "memory_search".into(),
                description: "Search what you remembered earlier, by words.".into(),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "query": { "type": "string" },
                        "limit": { "type": "integer", "minimum": 1, "maximum": 20 }
                    },
                    "required": ["query"],
                    "additionalProperties": false
                }),
            },
        ]
    }

    async fn call(&self, ctx: &ToolContext<'_>, tool: &str, config: &Value, raw: &str) -> Result<Value, ToolError> {
        let (user_id, conversation) = scope(ctx, config)?;
        let db = &ctx.state.db;
        match tool {
            "memory_save" => {
                let args: SaveArgs = arguments(raw)?;
                let max_items = config_u64(config, "maxItems", 500);
                let mut held = memory::Entity::find()
                    .filter(memory::Column::AccountId.eq(ctx.account_id))
                    .filter(memory::Column::AgentId.eq(ctx.agent.id.as_str()));
                held = match user_id {
                    Some(user) => held.filter(memory::Column::UserId.eq(user)),
                    None => held.filter(memory::Column::UserId.is_null()),
                };
                if let Some(conversation) = conversation {
                    held = held.filter(memory::Column::ConversationId.eq(conversation));
                }
                let held = held.count(db).await.map_err(|err| failed(err.into()))?;
                if held >= max_items {
                    return Err(ToolError::Failed(format!(
                        "memory is full ({held} of {max_items} items kept); nothing was saved"
                    )));
                }
                let new = NewMemory {
                    agent_id: ctx.agent.id.clone(),
                    user_id: user_id.map(str::to_owned),
                    content: args.content,
                    kind: args.kind,
                    metadata: Some(json!({ "source": "memory_save", "scope": config_str(config, "scope", "user") })),
                    conversation_id: Some(ctx.conversation_id.to_owned()),
                    message_id: ctx.message_id.map(str::to_owned),
                };
                let embedder = ctx.state.embedder.as_deref();
                let saved = memories::create(db, embedder, ctx.account_id, new).await.map_err(failed)?;
                Ok(
                    json!({ "saved": true, "id": saved.id, "expiresAt": saved.expires_at.map(crate::graphql::scalars::format_time) }),
                )
            }
            "memory_search" => {
                let args: SearchArgs = arguments(raw)?;
                memories::validate_query(&args.query).map_err(failed)?;
                let limit = args.limit.unwrap_or(5).clamp(1, 20);
                let embedder = ctx.state.embedder.as_deref();
                let search = Search {
                    account_id: ctx.account_id,
                    agent_id: &ctx.agent.id,
                    users: Users::WithShared(user_id),
                    query: &args.query,
                    limit: limit * 4,
                    min_similarity: 0.0,
                };
                let mut hits = memories::search(db, embedder, &search).await.map_err(failed)?;
                match conversation {
                    Some(conversation) => {
                        hits.retain(|hit| hit.memory.conversation_id.as_deref() == Some(conversation))
                    }
                    None => hits.retain(|hit| memories::usable_in(&hit.memory, ctx.conversation_id)),
                }
                let found: Vec<Value> = hits
                    .into_iter()
                    .take(limit as usize)
                    .map(|hit| {
                        json!({ "id": hit.memory.id, "content": hit.memory.content, "type": hit.memory.kind,
                                       "savedAt": crate::graphql::scalars::format_time(hit.memory.created_at) })
                    })
                    .collect();
                Ok(json!({ "memories": found }))
            }
            other => Err(ToolError::UnknownTool(other.to_owned())),
        }
    }
}
