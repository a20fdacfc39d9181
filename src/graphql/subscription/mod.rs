//! Subscription root, merged from one piece per resource.
mod agents;
mod conversations;
mod events;

use async_graphql::MergedSubscription;

#[derive(MergedSubscription, Default)]
pub struct Subscription(agents::AgentSubscription, conversations::ConversationSubscription, events::EventSubscription);
