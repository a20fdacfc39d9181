//! The in-process event bus: one tokio broadcast channel per topic, created on first subscription and removed
//! when its last subscriber leaves. Slow subscribers lag (and are told so) rather than slowing publishers.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use futures_util::{StreamExt, stream::BoxStream};
use tokio::sync::broadcast;

use super::{BusMessage, Delivery, EventBus, Topic};

type Channels = Mutex<HashMap<Topic, broadcast::Sender<BusMessage>>>;

pub struct InMemoryBus {
    channels: Arc<Channels>,
    capacity: usize,
}

impl InMemoryBus {
    /// `capacity` is each topic's buffer: how far a subscriber may fall behind before it lags.
    pub fn new(capacity: usize) -> Self {
        Self { channels: Arc::new(Mutex::new(HashMap::new())), capacity }
    }
}

/// Removes a topic's channel when the last subscriber's stream is dropped.
struct Unsubscribe {
    channels: Weak<Channels>,
    topic: Topic,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        let Some(channels) = self.channels.upgrade() else { return };
        let Ok(mut channels) = channels.lock() else { return };
        if channels.get(&self.topic).is_some_and(|sender| sender.receiver_count() == 0) {
            channels.remove(&self.topic);
        }
    }
}

impl EventBus for InMemoryBus {
    fn publish_message(&self, message: BusMessage) {
        let topic = message.topic();
        let Ok(channels) = self.channels.lock() else { return };
        if let Some(sender) = channels.get(&topic) {
            // No receiver left is not an error: the channel is removed by the last subscriber's drop.
            let _ = sender.send(message);
        }
    }

    fn subscribe(&self, topic: Topic) -> BoxStream<'static, Delivery> {
        let receiver = match self.channels.lock() {
            Ok(mut channels) => {
                channels.entry(topic.clone()).or_insert_with(|| broadcast::channel(self.capacity).0).subscribe()
            }
            Err(_) => return futures_util::stream::empty().boxed(),
        };
        let unsubscribe = Unsubscribe { channels: Arc::downgrade(&self.channels), topic };
        async_stream::stream! {
            // Declared before the receiver so it drops after it: the count it checks no longer includes us.
            let _unsubscribe = unsubscribe;
            let mut receiver = receiver;
            loop {
                match receiver.recv().await {
                    Ok(message) => yield Delivery::Message(message),
                    Err(broadcast::error::RecvError::Lagged(n)) => yield Delivery::Lagged(n),
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
        .boxed()
    }

    fn subscriber_count(&self) -> usize {
        self.channels.lock().map(|channels| channels.values().map(broadcast::Sender::receiver_count).sum()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, EventKind};

    fn event(account: &str, subject: &str) -> BusMessage {
        BusMessage::Event(Arc::new(Event::new(EventKind::AgentUpdated, account, subject, serde_json::json!({}))))
    }

    #[tokio::test]
    async fn subscribers_receive_their_topic_and_lag_notices() {
        let bus = InMemoryBus::new(2);
        let mut sub = bus.subscribe(Topic::Account("acct".into()));
        let mut other = bus.subscribe(Topic::Account("other".into()));
        bus.publish_message(event("other", "agent-x"));
        for i in 0..3 {
            bus.publish_message(event("acct", &format!("agent-{i}")));
        }
        assert!(matches!(sub.next().await, Some(Delivery::Lagged(1))));
        match sub.next().await {
            Some(Delivery::Message(BusMessage::Event(e))) => assert_eq!(e.subject_id, "agent-1"),
            other => panic!("expected an event, got {other:?}"),
        }
        match other.next().await {
            Some(Delivery::Message(BusMessage::Event(e))) => assert_eq!(e.subject_id, "agent-x"),
            other => panic!("expected the other account's event, got {other:?}"),
        }
        assert_eq!(bus.subscriber_count(), 2);
        drop(sub);
        drop(other);
        assert_eq!(bus.subscriber_count(), 0);
        assert!(bus.channels.lock().expect("lock").is_empty(), "empty topics are removed");
    }
}
