//! `agent.run` tasks: an agent answers a message without a client waiting on the connection (long replies).
//! The reply runs through the same run loop as a sent message; the task's result is the stored reply.
use serde_json::{Value, json};

use super::{TaskContext, TaskError};
use crate::{
    runs,
    services::{
        conversations::{self, NewConversation},
        messages::{self, NewMessage, WhileBusy},
    },
};

pub async fn run(context: &TaskContext) -> Result<Value, TaskError> {
    let state = &context.state;
    let input = &context.task.input;
    let account_id = context.task.account_id.as_str();
    let content = input.get("content").and_then(Value::as_str).unwrap_or_default().to_owned();
    let conversation_id = match input.get("conversationId").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => {
            // Each attempt opens its own conversation (tagged with the task id); a retried attempt's earlier one
            // stays as a record of what happened.
            let new = NewConversation {
                agent_id: input.get("agentId").and_then(Value::as_str).unwrap_or_default().to_owned(),
                user_id: input.get("userId").and_then(Value::as_str).map(str::to_owned),
                metadata: Some(json!({ "taskId": context.task.id })),
                ..NewConversation::default()
            };
            let (conversation, event) = conversations::create(&state.db, account_id, new).await?;
            state.publish(event);
            conversation.id
        }
    };
    let conversation = conversations::get(&state.db, account_id, &conversation_id).await?;
    runs::check_model(state, &conversation).await?;
    // Checked again when the task runs: the month may have been used up while it was queued.
    let estimate = runs::estimate::reply_tokens(state, &conversation, &content).await?;
    let hold = state.limiter.reserve_account_quota(&state.db, account_id, estimate).await?;
    context.progress(10);
    let new = NewMessage { content, attachments: Vec::new(), while_busy: WhileBusy::Enqueue };
    messages::validate(&new, state.config.max_message_chars)?;
    let sent = messages::store_user_message(&state.db, account_id, &conversation_id, new).await?;
    hold.for_reply(&sent.reply.id);
    runs::start(state, &sent);
    context.progress(20);
    let reply = runs::wait(state, &sent.reply).await?;
    let body = runs::payload::message_json(&reply);
    if reply.status == messages::status::FAILED {
        let code = reply.error.as_ref().and_then(|e| e.get("code")).and_then(Value::as_str).unwrap_or("reply_failed");
        let message =
            reply.error.as_ref().and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("the reply failed");
        return Err(TaskError::new(leak_code(code), message.to_owned()));
    }
    Ok(json!({ "conversationId": conversation_id, "messageId": sent.message.id, "reply": body }))
}

/// Task error codes are static strings; a reply's stored code is one of a known set.
fn leak_code(code: &str) -> &'static str {
    const KNOWN: [&str; 10] = [
        "upstream_unreachable",
        "upstream_timeout",
        "upstream_auth_failed",
        "upstream_rate_limited",
        "upstream_bad_request",
        "upstream_error",
        "upstream_incomplete",
        "interrupted",
        "tool_loop_limit",
        "reply_failed",
    ];
    KNOWN.into_iter().find(|known| *known == code).unwrap_or("reply_failed")
}
