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

/// `POST /v2/skills` body: an HTTP skill private to your account.
#[derive(InputObject)]
pub struct RegisterSkillInput {
    pub name: String,
    /// Semantic version; `1.0.0` when omitted.
    pub version: Option<String>,
    /// What the skill does: the model reads it to decide when to call it.
    pub description: String,
    /// Defaults to `custom`.
    pub category: Option<String>,
    /// JSON Schema (`"type": "object"`) of the arguments the model passes.
    pub parameters: Json<serde_json::Value>,
    /// Where invocations are POSTed (public http(s) URL; signed like webhook deliveries).
    pub endpoint: String,
    /// Signing secret (8–256 characters); generated (`whsec_…`) when omitted and returned once.
    pub secret: Option<String>,
    /// JSON Schema of the install `config` (any object when omitted).
    pub config_schema: Option<Json<serde_json::Value>>,
}

impl From<RegisterSkillInput> for crate::services::custom_skills::NewCustomSkill {
    fn from(input: RegisterSkillInput) -> Self {
        Self {
            name: input.name,
            version: input.version,
            description: input.description,
            category: input.category,
            parameters: input.parameters.0,
            endpoint: input.endpoint,
            secret: input.secret,
            config_schema: input.config_schema.map(|c| c.0),
        }
    }
}
