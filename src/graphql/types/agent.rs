//! `Agent`: the SPEC's configuration shape (`model{provider,name,settings}`, `skills[]`, `memory{}`).
use async_graphql::{ComplexObject, Context, ID, Json, Object, SimpleObject};

use super::common::Pagination;
use crate::graphql::{
    loaders::{InstalledSkillsLoader, load_installed_skills},
    scalars::DateTime,
};
use entity::{agent, agent_skill};

pub struct Agent(pub agent::Model);

/// Model generation settings.
#[derive(SimpleObject)]
pub struct ModelSettings {
    pub temperature: Option<f64>,
    pub max_tokens: Option<i32>,
}

/// Which model answers, and how.
#[derive(SimpleObject)]
pub struct ModelConfig {
    pub provider: String,
    pub name: String,
    pub settings: ModelSettings,
}

/// Memory settings.
#[derive(SimpleObject)]
pub struct MemoryConfig {
    pub enabled: bool,
    /// `conversation`, `user` or `agent`.
    #[graphql(name = "type")]
    pub kind: String,
    /// How long memories are kept, e.g. `30d`.
    pub retention: String,
}

#[Object]
impl Agent {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn model(&self) -> ModelConfig {
        ModelConfig {
            provider: self.0.model_provider.clone(),
            name: self.0.model_name.clone(),
            settings: ModelSettings { temperature: self.0.temperature, max_tokens: self.0.max_tokens },
        }
    }
    async fn system_prompt(&self) -> Option<&str> {
        self.0.system_prompt.as_deref()
    }
    /// Installed skills, in installation order (batched across agents by a dataloader).
    async fn skills(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<InstalledSkill>> {
        let loader = ctx.data::<InstalledSkillsLoader>()?;
        let skills = load_installed_skills(loader, &self.0.id).await?;
        Ok(skills.into_iter().map(InstalledSkill).collect())
    }
    async fn memory(&self) -> MemoryConfig {
        MemoryConfig {
            enabled: self.0.memory_enabled,
            kind: self.0.memory_type.clone(),
            retention: self.0.memory_retention.clone(),
        }
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

/// A skill installed into an agent.
pub struct InstalledSkill(pub agent_skill::Model);

#[Object]
impl InstalledSkill {
    /// The skill's catalog id, e.g. `knowledge-base`.
    async fn id(&self) -> ID {
        ID(self.0.skill_id.clone())
    }
    async fn version(&self) -> &str {
        &self.0.version
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Configuration, valid against the version's `configSchema`.
    async fn config(&self) -> Json<serde_json::Value> {
        Json(self.0.config.clone())
    }
    async fn installed_at(&self) -> DateTime {
        DateTime(self.0.installed_at)
    }
}

/// A page of agents.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AgentPage {
    #[graphql(skip)]
    pub items: Vec<agent::Model>,
    pub pagination: Pagination,
}

#[ComplexObject]
impl AgentPage {
    async fn agents(&self) -> Vec<Agent> {
        self.items.iter().cloned().map(Agent).collect()
    }
}
