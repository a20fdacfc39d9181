//! The in-process event bus: one tokio broadcast channel. Slow subscribers lag (and are told so) rather than
//! slowing publishers.
use std::sync::Arc;

use futures_util::{StreamExt, stream::BoxStream};
use tokio::sync::broadcast;

use super::{Delivery, Event, EventBus};

pub struct InMemoryBus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl InMemoryBus {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self { sender }
    }
}

impl EventBus for InMemoryBus {
    fn publish(&self, event: Event) {
        // No subscribers is not an error: nobody is listening right now.
        let _ = self.sender.send(Arc::new(event));
    }

    fn subscribe(&self) -> BoxStream<'static, Delivery> {
        let mut receiver = self.sender.subscribe();
        async_stream::stream! {
            loop {
                match receiver.recv().await {
                    Ok(event) => yield Delivery::Event(event),
                    Err(broadcast::error::RecvError::Lagged(n)) => yield Delivery::Lagged(n),
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
        .boxed()
    }

    fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    #[tokio::test]
    async fn subscribers_receive_events_and_lag_notices() {
        let bus = InMemoryBus::new(2);
        let mut sub = bus.subscribe();
        for i in 0..3 {
            bus.publish(Event::new(EventKind::AgentUpdated, "acct", &format!("agent-{i}"), serde_json::json!({})));
        }
        assert!(matches!(sub.next().await, Some(Delivery::Lagged(1))));
        match sub.next().await {
            Some(Delivery::Event(e)) => assert_eq!(e.subject_id, "agent-1"),
            other => panic!("expected an event, got {other:?}"),
        }
    }
}
