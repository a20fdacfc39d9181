//! Agent → installed skills, batched: a page of N agents costs one query, not N.
use std::collections::HashMap;

use crate::db::Db;
use dataloader::BatchFn;

use crate::{error::AppError, services::skills};
use entity::agent_skill;

/// Typed key: an agent id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentId(pub String);

/// What one key resolves to; a failed batch gives every key of it the same (coded) error.
pub type InstalledSkills = Result<Vec<agent_skill::Model>, async_graphql::Error>;

/// Sibling resolvers (the items of a list, joined in one task) all register their keys in the same poll, so one
/// yield is enough to let them in before the batch runs; every extra yield re-polls the whole response tree.
const YIELDS_BEFORE_BATCH: usize = 1;

pub struct InstalledSkillsBatch {
    db: Db,
}

impl BatchFn<AgentId, InstalledSkills> for InstalledSkillsBatch {
    async fn load(&mut self, keys: &[AgentId]) -> HashMap<AgentId, InstalledSkills> {
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        match skills::installed_for_agents(&self.db, &ids).await {
            Ok(mut by_agent) => {
                keys.iter().map(|key| (key.clone(), Ok(by_agent.remove(&key.0).unwrap_or_default()))).collect()
            }
            Err(err) => {
                let err = err.into_graphql();
                keys.iter().map(|key| (key.clone(), Err(err.clone()))).collect()
            }
        }
    }
}

/// The per-request loader (its cache must not outlive the request or cross tenants).
pub type InstalledSkillsLoader = dataloader::cached::Loader<AgentId, InstalledSkills, InstalledSkillsBatch>;

pub fn installed_skills_loader(db: Db) -> InstalledSkillsLoader {
    dataloader::cached::Loader::new(InstalledSkillsBatch { db }).with_yield_count(YIELDS_BEFORE_BATCH)
}

/// Loads one agent's skills through the loader.
pub async fn load_installed_skills(loader: &InstalledSkillsLoader, agent_id: &str) -> InstalledSkills {
    loader
        .try_load(AgentId(agent_id.to_owned()))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)).into_graphql())?
}

/// Records skills already fetched (with their agent), so resolving them costs no query.
pub async fn prime_installed_skills(loader: &InstalledSkillsLoader, agent_id: &str, skills: Vec<agent_skill::Model>) {
    loader.prime(AgentId(agent_id.to_owned()), Ok(skills)).await;
}
