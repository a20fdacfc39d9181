//! Installing and changing skills on an agent.
use async_graphql::{ID, InputObject, Json};

use crate::services::skills::{InstalledSkillPatch, SkillRequest};

/// `POST /v2/agents/{agentId}/skills` body.
#[derive(InputObject)]
pub struct InstallSkillInput {
    pub skill_id: ID,
    /// Defaults to the latest version.
    pub version: Option<String>,
    /// Validated against the version's config schema.
    pub config: Option<Json<serde_json::Value>>,
    #[graphql(default = true)]
    pub enabled: bool,
}

impl From<InstallSkillInput> for SkillRequest {
    fn from(input: InstallSkillInput) -> Self {
        Self {
            skill_id: input.skill_id.0,
            version: input.version,
            enabled: input.enabled,
            config: input.config.map_or_else(|| serde_json::json!({}), |c| c.0),
        }
    }
}

/// `PATCH /v2/agents/{agentId}/skills/{skillId}` body.
#[derive(InputObject)]
pub struct UpdateInstalledSkillInput {
    pub version: Option<String>,
    pub enabled: Option<bool>,
    /// Replaces the whole config; validated against the (new) version's schema.
    pub config: Option<Json<serde_json::Value>>,
}

impl From<UpdateInstalledSkillInput> for InstalledSkillPatch {
    fn from(input: UpdateInstalledSkillInput) -> Self {
        Self { version: input.version, enabled: input.enabled, config: input.config.map(|c| c.0) }
    }
}
