//! Installing, changing and uninstalling skills on an agent.
use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        inputs::{InstallSkillInput, RegisterSkillInput, UpdateInstalledSkillInput},
        types::{
            Deleted, InstalledSkill,
            skill::{RegisteredSkill, Skill},
        },
    },
    services::{custom_skills, skills},
};
use async_graphql::{Context, ID, Object};

#[derive(Default)]
pub struct SkillMutation;

#[Object]
impl SkillMutation {
    /// Registers an HTTP skill private to your account; install it like any catalog skill. Invocations are POSTed
    /// to `endpoint`, signed with the returned `secret` (shown only here).
    #[graphql(guard = "ScopeGuard(\"skills:write\")")]
    async fn register_skill(
        &self,
        ctx: &Context<'_>,
        input: RegisterSkillInput,
    ) -> async_graphql::Result<RegisteredSkill> {
        let (app, db, principal) = (ctx.app().gql()?, ctx.db().gql()?, ctx.principal().gql()?);
        let (skill, secret) =
            custom_skills::register(db, &app.outbound, &principal.account_id, input.into()).await.gql()?;
        Ok(RegisteredSkill { skill: Skill(skill), secret })
    }

    /// Deletes one of your custom skills, uninstalling it from your agents.
    #[graphql(guard = "ScopeGuard(\"skills:write\")")]
    async fn delete_skill(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deleted> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        custom_skills::delete(db, &principal.account_id, &id).await.gql()?;
        Ok(Deleted { id, deleted: true })
    }

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
