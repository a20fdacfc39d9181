//! Creating, changing and deleting agents.
use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        inputs::{CreateAgentInput, UpdateAgentInput},
        types::{Agent, Deleted},
    },
    services::agents,
};
use async_graphql::{Context, ID, Object};

#[derive(Default)]
pub struct AgentMutation;

#[Object]
impl AgentMutation {
    #[graphql(guard = "ScopeGuard(\"agents:write\")")]
    async fn create_agent(&self, ctx: &Context<'_>, input: CreateAgentInput) -> async_graphql::Result<Agent> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let new = input.into_new_agent().gql()?;
        let created = agents::create(db, &principal.account_id, new).await.gql()?;
        Ok(Agent(created))
    }

    /// Changes only the fields given; emits `agent.updated`.
    #[graphql(guard = "ScopeGuard(\"agents:write\")")]
    async fn update_agent(&self, ctx: &Context<'_>, id: ID, input: UpdateAgentInput) -> async_graphql::Result<Agent> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let patch = input.into_patch().gql()?;
        let (updated, event) = agents::update(db, &principal.account_id, &id, patch).await.gql()?;
        ctx.publish(event).gql()?;
        Ok(Agent(updated))
    }

    #[graphql(guard = "ScopeGuard(\"agents:write\")")]
    async fn delete_agent(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deleted> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        agents::delete(db, &principal.account_id, &id).await.gql()?;
        Ok(Deleted { id, deleted: true })
    }
}
