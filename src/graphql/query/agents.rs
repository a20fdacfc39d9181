//! Reading agents.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        loaders::{InstalledSkillsLoader, prime_installed_skills},
        types::{Agent, AgentPage},
    },
    services::{agents, pagination::PageRequest},
};

#[derive(Default)]
pub struct AgentQuery;

#[Object]
impl AgentQuery {
    /// One of the caller's agents (`not_found` for another tenant's).
    #[graphql(guard = "ScopeGuard(\"agents:read\")")]
    async fn agent(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Agent>> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        if !ctx.look_ahead().field("skills").exists() {
            return Ok(Some(Agent(agents::get(db, &principal.account_id, &id).await.gql()?)));
        }
        // Skills are selected: fetch them with the agent and prime the loader, one query instead of two.
        let (agent, skills) = agents::get_with_skills(db, &principal.account_id, &id).await.gql()?;
        prime_installed_skills(ctx.data::<InstalledSkillsLoader>()?, &agent.id, skills).await;
        Ok(Some(Agent(agent)))
    }

    /// The caller's agents, newest first.
    #[graphql(
        guard = "ScopeGuard(\"agents:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn agents(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
        page: Option<i64>,
    ) -> async_graphql::Result<AgentPage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let request = PageRequest::new(page, limit).gql()?;
        let (items, total) = agents::list(db, &principal.account_id, request).await.gql()?;
        Ok(AgentPage { items, pagination: request.info(total).into() })
    }
}
