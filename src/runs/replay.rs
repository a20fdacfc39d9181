//! A finished reply's stream, rebuilt from the database: the same events with the same sequences as when it was
//! live (the stored delta offsets give back each delta exactly), so a client resuming after the run ended gets
//! what it missed and then `done`.
//!
//! A reply interrupted by a crash (`failed`, code `interrupted`) was saved periodically while it streamed
//! (`runs::persist`): its replay is the live stream up to the last save, with the same ids, then `error` and
//! `done`. The client may have seen more than was saved; resuming from such an id gives the terminal events
//! numbered after it (see [`resume`]).
use serde_json::Value;

use super::{log::terminal_after, payload};
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

/// The events a client resuming after sequence `after` gets: those after it, ending with `done`. When `after` is
/// at or past the terminal events — or, for an interrupted reply, past what was saved (the live stream went
/// further than the database knows, so the ids after the saved part mean nothing) — the terminal events alone,
/// numbered after `after`. `None` when the reply has not finished.
pub fn resume(reply: &message::Model, after: u64) -> Option<Vec<StreamEvent>> {
    let events = events(reply)?;
    let error_code = reply.error.as_ref().and_then(|e| e.get("code")).and_then(Value::as_str);
    let exact = !(reply.status == status::FAILED && error_code == Some("interrupted"));
    let content = events.iter().filter(|e| !is_terminal(e.kind)).count() as u64;
    let end = events.len() as u64;
    if after <= content || (exact && after < end) {
        Some(events.into_iter().filter(|e| e.sequence > after).collect())
    } else {
        Some(terminal_after(events.iter(), after))
    }
}

fn is_terminal(kind: StreamEventKind) -> bool {
    matches!(kind, StreamEventKind::MessageCompleted | StreamEventKind::Error | StreamEventKind::Done)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reply(status: &str, error: Option<Value>) -> message::Model {
        let now = chrono::Utc::now();
        message::Model {
            id: "msg-r".into(),
            account_id: "acct".into(),
            conversation_id: "conv-1".into(),
            role: "assistant".into(),
            content: "abcdef".into(),
            attachments: None,
            status: status.into(),
            reply_to: Some("msg-u".into()),
            reply_id: None,
            model: Some("echo/echo".into()),
            prompt_tokens: None,
            completion_tokens: None,
            finish_reason: None,
            error,
            // created(1), deltas "ab"(2) "cd"(3) "ef"(4), then the terminal events (5, 6).
            deltas: Some(json!([2, 4, 6])),
            trace: None,
            created_at: now,
            completed_at: Some(now),
        }
    }

    fn ids(events: &[StreamEvent]) -> Vec<(u64, &'static str)> {
        events.iter().map(|e| (e.sequence, e.kind.as_str())).collect()
    }

    #[test]
    fn a_finished_reply_resumes_exactly_and_past_its_end_gets_the_terminal_events() {
        let completed = reply(status::COMPLETED, None);
        let all = resume(&completed, 0).expect("finished");
        assert_eq!(ids(&all).last(), Some(&(6, "done")));
        assert_eq!(ids(&resume(&completed, 4).expect("finished")), vec![(5, "message.completed"), (6, "done")]);
        // Saw `message.completed`, missed `done`: just `done`, with its own id.
        assert_eq!(ids(&resume(&completed, 5).expect("finished")), vec![(6, "done")]);
        // Saw everything, or claims an id past the end: the terminal events again, with ids after the client's.
        assert_eq!(ids(&resume(&completed, 6).expect("finished")), vec![(7, "message.completed"), (8, "done")]);
        assert_eq!(ids(&resume(&completed, 61).expect("finished")), vec![(62, "message.completed"), (63, "done")]);
    }

    #[test]
    fn an_interrupted_reply_replays_the_saved_part_then_error_and_done_after_any_id() {
        let interrupted = reply(status::FAILED, Some(json!({ "code": "interrupted", "message": "stopped" })));
        let all = resume(&interrupted, 0).expect("finished");
        assert_eq!(
            ids(&all),
            vec![
                (1, "message.created"),
                (2, "message.delta"),
                (3, "message.delta"),
                (4, "message.delta"),
                (5, "error"),
                (6, "done")
            ]
        );
        assert_eq!(all[4].data["code"], "interrupted");
        assert_eq!(ids(&resume(&interrupted, 2).expect("finished"))[0], (3, "message.delta"));
        // The live stream went past the saved part: id 5 was a delta the database never got, not the error.
        assert_eq!(ids(&resume(&interrupted, 5).expect("finished")), vec![(6, "error"), (7, "done")]);
        assert_eq!(ids(&resume(&interrupted, 61).expect("finished")), vec![(62, "error"), (63, "done")]);
        assert!(resume(&reply(status::IN_PROGRESS, None), 0).is_none(), "a running reply is not replayed");
    }
}
