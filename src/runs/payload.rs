//! The JSON shapes of stream events' `data` (SPEC §5). `message_json` must agree with the GraphQL `Message`
//! type as the REST layer selects it (a test compares `message.completed` with `GET /v2/messages/{id}`).
use serde_json::{Value, json};

use crate::graphql::scalars::format_time;
use entity::message;

/// A stored message as the API shows it.
pub fn message_json(m: &message::Model) -> Value {
    json!({
        "id": m.id,
        "conversationId": m.conversation_id,
        "role": m.role,
        "content": m.content,
        "status": m.status,
        "attachments": attachments_json(m),
        "model": m.model,
        "usage": usage_json(m),
        "finishReason": m.finish_reason,
        "error": m.error,
        "toolCalls": tool_calls(m).iter().map(ToolCallRecord::to_json).collect::<Vec<_>>(),
        "replyTo": m.reply_to,
        "replyId": m.reply_id,
        "createdAt": format_time(m.created_at),
        "completedAt": m.completed_at.map(format_time),
    })
}

/// Attachments with both keys present (`url` or `fileId` null), as GraphQL shows them.
fn attachments_json(m: &message::Model) -> Value {
    let items = m.attachments.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(
        items
            .iter()
            .map(|a| json!({ "type": a.get("type"), "url": a.get("url"), "fileId": a.get("fileId") }))
            .collect(),
    )
}

/// `{"promptTokens","completionTokens","totalTokens"}`, or null before the reply is finished.
pub fn usage_json(m: &message::Model) -> Value {
    match (m.prompt_tokens, m.completion_tokens) {
        (Some(p), Some(c)) => json!({ "promptTokens": p, "completionTokens": c, "totalTokens": p + c }),
        _ => Value::Null,
    }
}

pub fn created(m: &message::Model, model: &str) -> Value {
    json!({ "messageId": m.id, "conversationId": m.conversation_id, "role": m.role, "model": model,
            "replyTo": m.reply_to, "createdAt": format_time(m.created_at) })
}

pub fn delta(message_id: &str, text: &str) -> Value {
    json!({ "messageId": message_id, "delta": text })
}

pub fn error(message_id: &str, code: &str, message: &str) -> Value {
    json!({ "messageId": message_id, "code": code, "message": message })
}

pub fn done(message_id: &str, status: &str) -> Value {
    json!({ "messageId": message_id, "status": status })
}

/// `message.completed`: the full message, plus `messageId` like every other event.
pub fn completed(m: &message::Model) -> Value {
    let mut value = message_json(m);
    value["messageId"] = Value::String(m.id.clone());
    value
}

/// `tool.call`: the call as the model made it (`arguments` parsed when they are JSON, else the raw text).
pub fn tool_call(message_id: &str, call: &crate::llm::ToolCall, skill: Option<&str>) -> Value {
    let arguments =
        serde_json::from_str::<Value>(&call.arguments).unwrap_or_else(|_| Value::String(call.arguments.clone()));
    json!({ "messageId": message_id, "callId": call.id, "name": call.name, "skillId": skill, "arguments": arguments })
}

/// `tool.result`: the result, or the error the model was given instead.
pub fn tool_result(
    message_id: &str,
    call: &crate::llm::ToolCall,
    result: &Result<Value, crate::skills::ToolError>,
    elapsed: std::time::Duration,
) -> Value {
    let (result, error) = match result {
        Ok(value) => (value.clone(), Value::Null),
        Err(err) => (Value::Null, err.to_json()["error"].clone()),
    };
    json!({ "messageId": message_id, "callId": call.id, "name": call.name, "result": result, "error": error,
            "durationMs": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX) })
}

/// One tool call of a reply with its outcome, rebuilt from the reply's trace.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallRecord {
    pub id: String,
    pub name: String,
    pub skill_id: Option<String>,
    /// Parsed when the model sent JSON, else the raw text.
    pub arguments: Value,
    /// `null` when the call failed (or never answered: the reply was cancelled during it).
    pub result: Value,
    /// `{"code","message"}` when the call failed.
    pub error: Value,
    pub duration_ms: Option<u64>,
}

impl ToolCallRecord {
    pub fn to_json(&self) -> Value {
        json!({ "id": self.id, "name": self.name, "skillId": self.skill_id, "arguments": self.arguments,
                "result": self.result, "error": self.error, "durationMs": self.duration_ms })
    }
}

/// The tool calls a reply made, in order (from its `tool.call` / `tool.result` trace entries).
pub fn tool_calls(m: &message::Model) -> Vec<ToolCallRecord> {
    let entries = m.trace.as_ref().and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut calls: Vec<ToolCallRecord> = Vec::new();
    for entry in entries {
        let data = entry.get("data").unwrap_or(&Value::Null);
        match entry.get("event").and_then(Value::as_str) {
            Some("tool.call") => calls.push(ToolCallRecord {
                id: text(data, "callId").unwrap_or_default(),
                name: text(data, "name").unwrap_or_default(),
                skill_id: text(data, "skillId"),
                arguments: data.get("arguments").cloned().unwrap_or(Value::Null),
                result: Value::Null,
                error: Value::Null,
                duration_ms: None,
            }),
            Some("tool.result") => {
                let id = text(data, "callId");
                if let Some(call) = calls.iter_mut().rev().find(|c| Some(&c.id) == id.as_ref()) {
                    call.result = data.get("result").cloned().unwrap_or(Value::Null);
                    call.error = data.get("error").cloned().unwrap_or(Value::Null);
                    call.duration_ms = data.get("durationMs").and_then(Value::as_u64);
                }
            }
            _ => {}
        }
    }
    calls
}
