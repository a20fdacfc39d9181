//! Agent → installed skills, batched: a page of N agents costs one query, not N.
use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use sea_orm::DatabaseConnection;

use crate::services::skills;
use entity::agent_skill;

/// Typed key: an agent id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentId(pub String);

pub struct InstalledSkillsLoader {
    pub db: DatabaseConnection,
}

impl Loader<AgentId> for InstalledSkillsLoader {
    type Value = Vec<agent_skill::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[AgentId]) -> Result<HashMap<AgentId, Self::Value>, Self::Error> {
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let by_agent = skills::installed_for_agents(&self.db, &ids).await.map_err(|e| e.into_graphql())?;
        Ok(by_agent.into_iter().map(|(id, rows)| (AgentId(id), rows)).collect())
    }
}
