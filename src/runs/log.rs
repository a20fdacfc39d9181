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

    /// The events after sequence `after`, then live ones, ending after `done`. A follower that is already past
    /// the end of a finished log (it claims to have seen `done`, or an id this log never reached) still gets the
    /// terminal events, numbered after its `after` (see [`terminal_after`]), so every follower ends on `done`.
    pub fn follow(self: Arc<Self>, after: u64) -> BoxStream<'static, Arc<StreamEvent>> {
        let mut changes = self.len.subscribe();
        async_stream::stream! {
            let mut next = after as usize;
            loop {
                // Mark the current length seen before reading, so an append after the read wakes us.
                changes.borrow_and_update();
                let (batch, beyond_the_end): (Vec<Arc<StreamEvent>>, Vec<StreamEvent>) = {
                    let events = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let batch: Vec<_> = events.get(next.min(events.len())..).map(<[_]>::to_vec).unwrap_or_default();
                    let finished = events.last().is_some_and(|e| e.kind == StreamEventKind::Done);
                    let beyond = if batch.is_empty() && finished {
                        terminal_after(events.iter().map(|e| e.as_ref()), next as u64)
                    } else {
                        Vec::new()
                    };
                    (batch, beyond)
                };
                if !beyond_the_end.is_empty() {
                    for event in beyond_the_end {
                        yield Arc::new(event);
                    }
                    return;
                }
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

/// The terminal events of a finished stream (`message.completed` or `error`, then `done`), numbered `after + 1`,
/// `after + 2`: for a follower resuming from an id at or past them. Ids must grow past the client's
/// `Last-Event-ID`, or an `EventSource` would resume from an older id and get them again; and the stream must end
/// on `done`, or a browser reconnects for ever.
pub fn terminal_after<'a>(events: impl DoubleEndedIterator<Item = &'a StreamEvent>, after: u64) -> Vec<StreamEvent> {
    let mut terminal: Vec<StreamEvent> = events
        .rev()
        .take_while(|e| {
            matches!(e.kind, StreamEventKind::MessageCompleted | StreamEventKind::Error | StreamEventKind::Done)
        })
        .cloned()
        .collect();
    terminal.reverse();
    for (event, sequence) in terminal.iter_mut().zip(after + 1..) {
        event.sequence = sequence;
    }
    terminal
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

    #[tokio::test]
    async fn a_follower_past_the_end_gets_the_terminal_events_numbered_after_its_id() {
        let log = Arc::new(RunLog::new("conv-1", "msg-1"));
        log.push(StreamEventKind::MessageCreated, Value::Null);
        log.push(StreamEventKind::MessageDelta, Value::from("a"));
        // Waiting past the end of a live log, then the log finishes before reaching the follower's id.
        let early = log.clone().follow(9);
        log.push(StreamEventKind::Error, Value::from("e"));
        log.push(StreamEventKind::Done, Value::Null);
        let got: Vec<(u64, StreamEventKind)> = early.map(|e| (e.sequence, e.kind)).collect().await;
        assert_eq!(got, vec![(10, StreamEventKind::Error), (11, StreamEventKind::Done)]);
        // Resuming after `done` of a finished log.
        let got: Vec<(u64, StreamEventKind)> = log.clone().follow(4).map(|e| (e.sequence, e.kind)).collect().await;
        assert_eq!(got, vec![(5, StreamEventKind::Error), (6, StreamEventKind::Done)]);
        // Resuming after the error but before `done`: the rest, as it was.
        let got: Vec<u64> = log.clone().follow(3).map(|e| e.sequence).collect().await;
        assert_eq!(got, vec![4]);
    }
}
