//! Installing, changing and uninstalling skills on an agent.
use async_graphql::{Context, ID, Object};
use serde_json::json;

use crate::{
    app::AppState,
    auth::Principal,
    events::{Event, EventKind},
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        inputs::{InstallSkillInput, UpdateInstalledSkillInput},
        types::{Deleted, InstalledSkill},
    },
    services::{agents, skills},
};

#[derive(Default)]
pub struct SkillMutation;

/// The agent's configuration changed: bump `updatedAt` and tell subscribers.
async fn agent_changed(app: &AppState, principal: &Principal, agent_id: &str) -> async_graphql::Result<()> {
    agents::touch(&app.db, &principal.account_id, agent_id).await.gql()?;
    app.events.publish(Event::new(
        EventKind::AgentUpdated,
        &principal.account_id,
        agent_id,
        json!({ "agentId": agent_id }),
    ));
    Ok(())
}

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
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        let agent = agents::get(&app.db, &principal.account_id, &agent_id).await.gql()?;
        let installed = skills::install(&app.db, &principal.account_id, &agent.id, "", &input.into()).await.gql()?;
        app.events.publish(Event::new(
            EventKind::SkillInstalled,
            &principal.account_id,
            &agent.id,
            json!({ "agentId": agent.id, "skillId": installed.skill_id, "version": installed.version }),
        ));
        agent_changed(app, principal, &agent.id).await?;
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
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        let updated =
            skills::update_installed(&app.db, &principal.account_id, &agent_id, &skill_id, input.into()).await.gql()?;
        agent_changed(app, principal, &agent_id).await?;
        Ok(InstalledSkill(updated))
    }

    #[graphql(guard = "ScopeGuard(\"agents:write\")")]
    async fn uninstall_skill(&self, ctx: &Context<'_>, agent_id: ID, skill_id: ID) -> async_graphql::Result<Deleted> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        skills::uninstall(&app.db, &principal.account_id, &agent_id, &skill_id).await.gql()?;
        agent_changed(app, principal, &agent_id).await?;
        Ok(Deleted { id: skill_id, deleted: true })
    }
}
