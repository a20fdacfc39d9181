//! `ticket-system`: the model opens support tickets (stored per account, listed at `GET /v2/tickets`, announced by
//! `ticket.created`) and looks up the ones it opened. Only the `builtin` provider is implemented; an install
//! configured for Jira, Zendesk, GitHub or Linear is told so instead of pretending.
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Skill, ToolContext, ToolError, arguments, config_str};
use crate::{
    error::AppError,
    llm::ToolSpec,
    services::tickets::{self, NewTicket, PRIORITIES},
};

pub struct TicketSystem;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateArgs {
    title: String,
    #[serde(default)]
    description: String,
    priority: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetArgs {
    #[serde(rename = "ticketId")]
    ticket_id: String,
}

#[async_trait]
impl Skill for TicketSystem {
    fn id(&self) -> &str {
        "ticket-system"
    }

    fn tools(&self, _config: &Value) -> Vec<ToolSpec> {
        vec![
            ToolSpec {
                name: "ticket_create".into(),
                description: "Open a support ticket for a problem you cannot solve in the conversation.".into(),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "title": { "type": "string", "description": "One line summary." },
                        "description": { "type": "string", "description": "What happened, what the user needs." },
                        "priority": { "type": "string", "enum": PRIORITIES }
                    },
                    "required": ["title"],
                    "additionalProperties": false
                }),
            },
            ToolSpec {
                name: "ticket_get".into(),
                description: "Look up a ticket's status by its id (`tkt-…`).".into(),
                parameters: json!({
                    "type": "object",
                    "properties": { "ticketId": { "type": "string" } },
                    "required": ["ticketId"],
                    "additionalProperties": false
                }),
            },
        ]
    }

    async fn call(&self, ctx: &ToolContext<'_>, tool: &str, config: &Value, raw: &str) -> Result<Value, ToolError> {
        let provider = config_str(config, "provider", "builtin");
        if provider != "builtin" {
            return Err(ToolError::Unavailable(format!(
                "the `{provider}` ticket provider is not connected on this server; install the skill with provider `builtin`"
            )));
        }
        let failed = |err: AppError| match err {
            AppError::Validation { field, message } => ToolError::InvalidArguments(format!("`{field}` {message}")),
            AppError::NotFound { .. } => ToolError::Failed("no such ticket".into()),
            other => ToolError::Failed(other.public_message()),
        };
        match tool {
            "ticket_create" => {
                let args: CreateArgs = arguments(raw)?;
                let priority =
                    args.priority.or_else(|| config.get("defaultPriority").and_then(Value::as_str).map(str::to_owned));
                let new = NewTicket {
                    title: args.title,
                    description: args.description,
                    priority,
                    project: config.get("project").and_then(Value::as_str).map(str::to_owned),
                    agent_id: Some(ctx.agent.id.clone()),
                    conversation_id: Some(ctx.conversation_id.to_owned()),
                };
                let (ticket, event) = tickets::create(&ctx.state.db, ctx.account_id, new).await.map_err(failed)?;
                ctx.state.publish(event);
                Ok(json!({ "ticketId": ticket.id, "status": ticket.status, "priority": ticket.priority }))
            }
            "ticket_get" => {
                let args: GetArgs = arguments(raw)?;
                let ticket = tickets::get(&ctx.state.db, ctx.account_id, &args.ticket_id).await.map_err(failed)?;
                // The agent sees the tickets it opened, not the whole account's.
                if ticket.agent_id.as_deref() != Some(ctx.agent.id.as_str()) {
                    return Err(ToolError::Failed("no such ticket".into()));
                }
                Ok(
                    json!({ "ticketId": ticket.id, "title": ticket.title, "status": ticket.status, "priority": ticket.priority }),
                )
            }
            other => Err(ToolError::UnknownTool(other.to_owned())),
        }
    }
}
