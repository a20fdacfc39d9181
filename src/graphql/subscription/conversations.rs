//! `messageStream` (a reply's events, token by token) and `conversationEvents` (domain events of conversations).
use std::sync::Arc;

use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt, stream::BoxStream};

use crate::{
    error::AppError,
    events::{BusMessage, Delivery, EventKind, StreamEvent as BusStreamEvent, Topic},
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::{DomainEvent, StreamEvent},
    },
    runs,
    services::{conversations, messages},
};

type GqlStream<T> = BoxStream<'static, async_graphql::Result<T>>;

#[derive(Default)]
pub struct ConversationSubscription;

#[Subscription]
impl ConversationSubscription {
    /// With `messageId`: that reply's events after sequence `after` (replayed if missed, then live), ending with
    /// `done` — resumable at any point. Without: every reply of the conversation as it streams, live; a
    /// subscriber that falls behind gets a `subscription_lagged` error naming where to resume, never silent loss.
    #[graphql(guard = "ScopeGuard(\"conversations:read\")")]
    async fn message_stream(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        message_id: Option<ID>,
        #[graphql(default = 0)] after: u64,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<StreamEvent>> + use<>> {
        let app = ctx.app().gql()?.clone();
        let account_id = ctx.principal().gql()?.account_id.clone();
        conversations::get(&app.db, &account_id, &conversation_id).await.gql()?;
        let stream: GqlStream<StreamEvent> = match message_id {
            Some(message_id) => {
                let reply = messages::get(&app.db, &account_id, &message_id).await.gql()?;
                if reply.conversation_id != conversation_id.0 || reply.role != "assistant" {
                    return Err(AppError::NotFound { resource: "reply" }.into_graphql());
                }
                runs::follow(&app, &reply, after).await.gql()?.map(|e| Ok(StreamEvent::from(e.as_ref()))).boxed()
            }
            None => live(app.events.subscribe(Topic::Conversation(conversation_id.0))),
        };
        Ok(stream)
    }

    /// Domain events of the caller's conversations (`conversation.created`, `message.received`,
    /// `message.sent`), optionally of one conversation.
    #[graphql(guard = "ScopeGuard(\"conversations:read\")")]
    async fn conversation_events(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<DomainEvent>> + use<>> {
        let account_id = ctx.principal().gql()?.account_id.clone();
        let app = ctx.app().gql()?;
        if let Some(id) = &conversation_id {
            conversations::get(&app.db, &account_id, id).await.gql()?;
        }
        let only = conversation_id.map(|id| id.0);
        let deliveries = app.events.subscribe(Topic::Account(account_id));
        Ok(deliveries.filter_map(move |delivery| {
            let only = only.clone();
            async move {
                match delivery {
                    Delivery::Lagged(n) => Some(Err(lagged(n, None))),
                    Delivery::Message(BusMessage::Event(event)) => {
                        let about_conversations = matches!(
                            event.kind,
                            EventKind::ConversationCreated | EventKind::MessageReceived | EventKind::MessageSent
                        );
                        let conversation =
                            event.data.get("conversationId").and_then(serde_json::Value::as_str).unwrap_or_default();
                        let wanted = about_conversations && only.as_deref().is_none_or(|id| id == conversation);
                        wanted.then(|| Ok(DomainEvent::from(event.as_ref())))
                    }
                    Delivery::Message(BusMessage::Stream(_)) => None,
                }
            }
        }))
    }
}

/// The live stream events of a conversation topic; a lag becomes an error naming the last event delivered.
fn live(deliveries: BoxStream<'static, Delivery>) -> GqlStream<StreamEvent> {
    let mut last: Option<Arc<BusStreamEvent>> = None;
    deliveries
        .filter_map(move |delivery| {
            let item = match delivery {
                Delivery::Message(BusMessage::Stream(event)) => {
                    last = Some(event.clone());
                    Some(Ok(StreamEvent::from(event.as_ref())))
                }
                Delivery::Message(BusMessage::Event(_)) => None,
                Delivery::Lagged(n) => Some(Err(lagged(n, last.as_deref()))),
            };
            std::future::ready(item)
        })
        .boxed()
}

fn lagged(n: u64, last: Option<&BusStreamEvent>) -> async_graphql::Error {
    let resume = last.map_or_else(String::new, |e| {
        format!("; resume with messageStream(messageId: \"{}\", after: {})", e.message_id, e.sequence)
    });
    AppError::Conflict {
        code: "subscription_lagged",
        message: format!("this subscriber fell behind and missed {n} events{resume}"),
    }
    .into_graphql()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventBus, InMemoryBus, StreamEventKind};

    fn delta(sequence: u64) -> Arc<BusStreamEvent> {
        Arc::new(BusStreamEvent {
            conversation_id: "conv-1".into(),
            message_id: "msg-1".into(),
            sequence,
            kind: StreamEventKind::MessageDelta,
            data: serde_json::json!({ "delta": "x" }),
        })
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_where_to_resume_never_silently_skipped() {
        let bus = InMemoryBus::new(2);
        let mut stream = live(bus.subscribe(Topic::Conversation("conv-1".into())));
        bus.publish_message(BusMessage::Stream(delta(1)));
        let first = stream.next().await.expect("event").expect("ok");
        assert_eq!(first.sequence, 1);
        for sequence in 2..=6 {
            bus.publish_message(BusMessage::Stream(delta(sequence)));
        }
        let error = stream.next().await.expect("item").expect_err("lag is an error");
        assert!(error.message.contains("missed 3 events"), "{}", error.message);
        assert!(error.message.contains("messageId: \"msg-1\", after: 1"), "{}", error.message);
        let next = stream.next().await.expect("event").expect("ok");
        assert_eq!(next.sequence, 5, "delivery continues after the notice");
    }
}
