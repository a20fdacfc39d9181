//! Subscription root, merged from one piece per resource.
mod agents;

use async_graphql::MergedSubscription;

#[derive(MergedSubscription, Default)]
pub struct Subscription(agents::AgentSubscription);
