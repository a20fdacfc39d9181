//! Installing, changing and uninstalling skills on an agent.
use async_graphql::{Context, ID, Object};
use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        inputs::{InstallSkillInput, UpdateInstalledSkillInput},
        types::{Deleted, InstalledSkill},
    },
    services::skills,
};

#[derive(Default)]
pub struct SkillMutation;

#[Object]
impl SkillMutation {
    /// Installs a catalog skill (config validated against the version's schema); emits `skill.installed`.
    #[graphql(guard = "ScopeGuard(\"agents:write\")")]
    async fn install_skill(
        &self,
        ctx: &Context<'_>,
        agent_id: ID,
        input: InstallSkillInput,
    ) -> async_graphql::Result<InstalledSkill> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let (installed, events) =
            skills::install_into_agent(db, &principal.account_id, &agent_id, &input.into()).await.gql()?;
        events.into_iter().try_for_each(|event| ctx.publish(event)).gql()?;
        Ok(InstalledSkill(installed))
    }

    #[graphql(guard = "ScopeGuard(\"agents:write\")")]
    async fn update_installed_skill(
        &self,
        ctx: &Context<'_>,
        agent_id: ID,
        skill_id: ID,
        input: UpdateInstalledSkillInput,
    ) -> async_graphql::Result<InstalledSkill> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let (updated, event) =
            skills::update_in_agent(db, &principal.account_id, &agent_id, &skill_id, input.into()).await.gql()?;
        ctx.publish(event).gql()?;
        Ok(InstalledSkill(updated))
    }

    #[graphql(guard = "ScopeGuard(\"agents:write\")")]
    async fn uninstall_skill(&self, ctx: &Context<'_>, agent_id: ID, skill_id: ID) -> async_graphql::Result<Deleted> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let event = skills::uninstall_from_agent(db, &principal.account_id, &agent_id, &skill_id).await.gql()?;
        ctx.publish(event).gql()?;
        Ok(Deleted { id: skill_id, deleted: true })
    }
}
