//! A finished reply's stream, rebuilt from the database: the same events with the same sequences as when it was
//! live (the stored delta offsets give back each delta exactly), so a client resuming after the run ended gets
//! what it missed and then `done`.
use serde_json::Value;

use super::payload;
use crate::{
    events::{StreamEvent, StreamEventKind},
    services::messages::status,
};
use entity::message;

/// Every event of a finished reply's stream. `None` when the reply has not finished (its live log is elsewhere).
pub fn events(reply: &message::Model) -> Option<Vec<StreamEvent>> {
    if matches!(reply.status.as_str(), status::QUEUED | status::IN_PROGRESS) {
        return None;
    }
    let mut out = Vec::new();
    let mut push = |kind: StreamEventKind, data: Value| {
        out.push(StreamEvent {
            conversation_id: reply.conversation_id.clone(),
            message_id: reply.id.clone(),
            sequence: out.len() as u64 + 1,
            kind,
            data,
        });
    };
    let model = reply.model.clone().unwrap_or_default();
    // A reply that failed before it started (e.g. interrupted while queued) streamed nothing but the error.
    let started = reply.deltas.is_some();
    if started {
        push(StreamEventKind::MessageCreated, payload::created(reply, &model));
    }
    let offsets: Vec<usize> =
        reply.deltas.as_ref().and_then(|d| serde_json::from_value::<Vec<usize>>(d.clone()).ok()).unwrap_or_default();
    // Tool calls, results and recalls go back where they happened: after the deltas streamed before them.
    let trace: Vec<(usize, StreamEventKind, Value)> = reply
        .trace
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let kind = StreamEventKind::parse(entry.get("event")?.as_str()?)?;
            let after = usize::try_from(entry.get("afterDelta")?.as_u64()?).ok()?;
            Some((after, kind, entry.get("data").cloned().unwrap_or(Value::Null)))
        })
        .collect();
    let mut trace = trace.into_iter().peekable();
    let mut start = 0;
    for (streamed, end) in offsets.into_iter().enumerate() {
        while let Some((_, kind, data)) = trace.next_if(|(after, _, _)| *after <= streamed) {
            push(kind, data);
        }
        let Some(text) = reply.content.get(start..end) else { break };
        push(StreamEventKind::MessageDelta, payload::delta(&reply.id, text));
        start = end;
    }
    for (_, kind, data) in trace {
        push(kind, data);
    }
    if reply.status == status::FAILED {
        let error = reply.error.clone().unwrap_or(Value::Null);
        let code = error.get("code").and_then(Value::as_str).unwrap_or("internal_error");
        let message = error.get("message").and_then(Value::as_str).unwrap_or("the reply failed");
        push(StreamEventKind::Error, payload::error(&reply.id, code, message));
    } else {
        push(StreamEventKind::MessageCompleted, payload::completed(reply));
    }
    push(StreamEventKind::Done, payload::done(&reply.id, &reply.status));
    Some(out)
}
