//! `agentUpdated`: the caller's agents as they change.
use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt};

use crate::{
    error::AppError,
    events::{BusMessage, Delivery, EventKind, Topic},
    graphql::{context::ContextExt, errors::GqlResultExt, guards::ScopeGuard, types::Agent},
    services::agents,
};

#[derive(Default)]
pub struct AgentSubscription;

#[Subscription]
impl AgentSubscription {
    /// Emits the agent (all of the caller's, or only `id`) each time its configuration changes.
    /// A subscriber that falls behind receives an error naming how many updates it missed.
    #[graphql(guard = "ScopeGuard(\"agents:read\")")]
    async fn agent_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Agent>>> {
        let app = ctx.app().gql()?.clone();
        let account_id = ctx.principal().gql()?.account_id.clone();
        let only = id.map(|id| id.0);
        let deliveries = app.events.subscribe(Topic::Account(account_id.clone()));
        Ok(deliveries.filter_map(move |delivery| {
            let (app, account_id, only) = (app.clone(), account_id.clone(), only.clone());
            async move {
                match delivery {
                    Delivery::Lagged(n) => Some(Err(AppError::Conflict {
                        code: "subscription_lagged",
                        message: format!("this subscriber fell behind and missed {n} updates"),
                    }
                    .into_graphql())),
                    Delivery::Message(BusMessage::Event(event)) => {
                        let wanted = event.kind == EventKind::AgentUpdated
                            && event.account_id == account_id
                            && only.as_ref().is_none_or(|id| *id == event.subject_id);
                        if !wanted {
                            return None;
                        }
                        // A deleted agent has nothing to show.
                        agents::get(&app.db, &account_id, &event.subject_id).await.ok().map(|a| Ok(Agent(a)))
                    }
                    Delivery::Message(BusMessage::Stream(_)) => None,
                }
            }
        }))
    }
}
