//! The event log of one reply's stream while it is live: every event in order, kept for the life of the run, so
//! any number of followers (the SSE response, a resumed stream, a subscription) read it at their own pace. The
//! producer only appends: a slow follower can never slow the model stream or lose an event.
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, stream::BoxStream};
use serde_json::Value;
use tokio::sync::watch;

use crate::events::{StreamEvent, StreamEventKind};

pub struct RunLog {
    pub conversation_id: String,
    pub message_id: String,
    events: Mutex<Vec<Arc<StreamEvent>>>,
    /// The number of events, announced to followers on every append.
    len: watch::Sender<usize>,
}

impl RunLog {
    pub fn new(conversation_id: &str, message_id: &str) -> Self {
        Self {
            conversation_id: conversation_id.to_owned(),
            message_id: message_id.to_owned(),
            events: Mutex::new(Vec::new()),
            len: watch::Sender::new(0),
        }
    }

    /// Appends the next event (sequence = previous + 1) and wakes the followers.
    pub fn push(&self, kind: StreamEventKind, data: Value) -> Arc<StreamEvent> {
        let (event, len) = {
            let mut events = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let event = Arc::new(StreamEvent {
                conversation_id: self.conversation_id.clone(),
                message_id: self.message_id.clone(),
                sequence: events.len() as u64 + 1,
                kind,
                data,
            });
            events.push(event.clone());
            (event, events.len())
        };
        self.len.send_replace(len);
        event
    }

    /// No event yet: the reply has not started (it is queued).
    pub fn is_empty(&self) -> bool {
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty()
    }

    /// The events after sequence `after`, then live ones, ending after `done`.
    pub fn follow(self: Arc<Self>, after: u64) -> BoxStream<'static, Arc<StreamEvent>> {
        let mut changes = self.len.subscribe();
        async_stream::stream! {
            let mut next = after as usize;
            loop {
                // Mark the current length seen before reading, so an append after the read wakes us.
                changes.borrow_and_update();
                let batch: Vec<Arc<StreamEvent>> = {
                    let events = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    events.get(next.min(events.len())..).map(<[_]>::to_vec).unwrap_or_default()
                };
                for event in batch {
                    next = event.sequence as usize;
                    let done = event.kind == StreamEventKind::Done;
                    yield event;
                    if done {
                        return;
                    }
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn followers_get_every_event_once_in_order_from_any_point() {
        let log = Arc::new(RunLog::new("conv-1", "msg-1"));
        log.push(StreamEventKind::MessageCreated, Value::Null);
        let from_start = log.clone().follow(0);
        let resumed = log.clone().follow(2);
        for i in 0..5 {
            log.push(StreamEventKind::MessageDelta, Value::from(i));
        }
        log.push(StreamEventKind::Done, Value::Null);
        let all: Vec<u64> = from_start.map(|e| e.sequence).collect().await;
        assert_eq!(all, (1..=7).collect::<Vec<_>>());
        let rest: Vec<u64> = resumed.map(|e| e.sequence).collect().await;
        assert_eq!(rest, (3..=7).collect::<Vec<_>>());
    }
}
