//! Subscription root, merged from one piece per resource.
mod agents;
mod conversations;

use async_graphql::MergedSubscription;

#[derive(MergedSubscription, Default)]
pub struct Subscription(agents::AgentSubscription, conversations::ConversationSubscription);
