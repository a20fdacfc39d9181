//! Periodic saves of a reply while it is generated, so a crash (`kill -9`, power loss) loses only the tail of the
//! text. The saver is one more follower of the run log: it rebuilds the reply's text, delta offsets and trace from
//! the log's events (exactly as the runner does, so what it saves is always a prefix of the stream and replays with
//! the same event ids) and writes them to the message row every `stream_persist_every_deltas` events or
//! `stream_persist_interval_ms` after the first unsaved one, whichever comes first. It runs on its own task: the
//! runner only appends to the log, so a delta never waits for a database round trip on its way to a client.
//!
//! The bound: a crash loses the events streamed since the last save that completed — fewer than
//! `stream_persist_every_deltas` events and at most `stream_persist_interval_ms` worth of them, plus those that
//! arrived while that save was being written.
use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::RunLog;
use crate::{
    db::Db,
    events::{StreamEvent, StreamEventKind},
    services::messages::{self, Partial},
};

/// When to save.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Save after this many unsaved events (`None`: no count trigger).
    pub every: Option<u64>,
    /// Save this long after the first unsaved event (`None`: no time trigger).
    pub interval: Option<Duration>,
}

impl Policy {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            every: Some(config.stream_persist_every_deltas).filter(|n| *n > 0),
            interval: Some(config.stream_persist_interval_ms).filter(|ms| *ms > 0).map(Duration::from_millis),
        }
    }
}

/// Starts saving the reply of `log`; the saves stop when the returned guard is dropped (the runner drops it before
/// it stores the outcome, and on unwind) or when the log reaches its terminal events.
pub fn spawn(db: Db, log: Arc<RunLog>, policy: Policy) -> DropGuard {
    let stop = CancellationToken::new();
    if policy.every.is_some() || policy.interval.is_some() {
        tokio::spawn(save_loop(db, log, policy, stop.clone()));
    }
    stop.drop_guard()
}

async fn save_loop(db: Db, log: Arc<RunLog>, policy: Policy, stop: CancellationToken) {
    let reply_id = log.message_id.clone();
    let mut events = log.follow(0);
    let mut partial = Partial::default();
    let mut unsaved = 0u64;
    let mut deadline: Option<Instant> = None;
    loop {
        let due = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let save_now = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            () = due => true,
            event = events.next() => {
                let Some(event) = event else { return };
                if !apply(&mut partial, &event) {
                    // The run is over: the runner stores the outcome itself.
                    return;
                }
                unsaved += 1;
                if deadline.is_none() {
                    deadline = policy.interval.map(|interval| Instant::now() + interval);
                }
                policy.every.is_some_and(|every| unsaved >= every)
            }
        };
        if !save_now {
            continue;
        }
        match messages::save_partial(&db, &reply_id, &partial).await {
            Ok(true) => {
                unsaved = 0;
                deadline = None;
            }
            // The reply is no longer in progress (it finished, or its conversation was deleted): nothing to keep.
            Ok(false) => return,
            Err(err) => {
                // The next trigger retries; what is at stake is only the crash bound, not the reply.
                tracing::warn!(error = %err, reply_id, "could not save a streaming reply's progress");
                deadline = policy.interval.map(|interval| Instant::now() + interval);
            }
        }
    }
}

/// Adds one event of the log to the saved progress. `false` at the terminal events (the outcome is the runner's
/// to store). Mirrors the runner's bookkeeping (`Progress`): trace entries carry the number of deltas before them.
fn apply(partial: &mut Partial, event: &StreamEvent) -> bool {
    match event.kind {
        StreamEventKind::MessageCreated => {
            partial.model = event.data.get("model").and_then(Value::as_str).map(str::to_owned);
        }
        StreamEventKind::MessageDelta => {
            partial.content.push_str(event.data.get("delta").and_then(Value::as_str).unwrap_or_default());
            partial.deltas.push(partial.content.len());
        }
        StreamEventKind::ToolCall | StreamEventKind::ToolResult | StreamEventKind::MemoryRecalled => {
            partial
                .trace
                .push(json!({ "event": event.kind.as_str(), "afterDelta": partial.deltas.len(), "data": event.data }));
        }
        StreamEventKind::MessageCompleted | StreamEventKind::Error | StreamEventKind::Done => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: StreamEventKind, data: Value) -> StreamEvent {
        StreamEvent { conversation_id: "conv-1".into(), message_id: "msg-1".into(), sequence: 0, kind, data }
    }

    #[test]
    fn progress_is_rebuilt_from_the_log_as_the_runner_keeps_it() {
        let mut partial = Partial::default();
        assert!(apply(&mut partial, &event(StreamEventKind::MessageCreated, json!({ "model": "echo/echo" }))));
        assert!(apply(&mut partial, &event(StreamEventKind::MessageDelta, json!({ "delta": "Héllo" }))));
        assert!(apply(&mut partial, &event(StreamEventKind::ToolCall, json!({ "callId": "c1" }))));
        assert!(apply(&mut partial, &event(StreamEventKind::MessageDelta, json!({ "delta": " you" }))));
        assert!(!apply(&mut partial, &event(StreamEventKind::Error, json!({}))));
        assert_eq!(partial.model.as_deref(), Some("echo/echo"));
        assert_eq!(partial.content, "Héllo you");
        assert_eq!(partial.deltas, vec![6, 10]);
        assert_eq!(partial.trace, vec![json!({ "event": "tool.call", "afterDelta": 1, "data": { "callId": "c1" } })]);
    }
}
