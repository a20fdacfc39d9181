//! Agent inputs. Both seed shapes are accepted: the creation example (`"model": "gpt-4"`, `"skills": ["id"]`,
//! `settings{temperature,maxTokens,memoryEnabled}`) and the configuration shape (`model{provider,name,settings}`,
//! `skills[{id,enabled,config}]`, `memory{enabled,type,retention}`), so a fetched agent can be sent back as is.
use async_graphql::{ID, InputObject, MaybeUndefined};

use crate::{
    error::{AppError, AppResult},
    graphql::scalars::{ModelSpec, SkillSpec},
    services::{
        agents::{AgentPatch, NewAgent},
        models::{self, ModelRef},
        skills::SkillRequest,
    },
};

/// `settings` of the creation example.
#[derive(InputObject, Default)]
pub struct AgentSettingsInput {
    pub temperature: Option<f64>,
    pub max_tokens: Option<i64>,
    pub memory_enabled: Option<bool>,
}

/// `memory` of the configuration shape.
#[derive(InputObject, Default)]
pub struct MemoryInput {
    pub enabled: Option<bool>,
    /// `conversation`, `user` or `agent`.
    #[graphql(name = "type")]
    pub kind: Option<String>,
    /// e.g. `30d`, `12h`, `4w`, `never` (kept until deleted; `forever` is the same).
    pub retention: Option<String>,
}

/// `POST /v2/agents` body.
#[derive(InputObject)]
pub struct CreateAgentInput {
    /// Read-only: ignored, so a fetched configuration can be posted back unchanged.
    pub id: Option<ID>,
    pub name: String,
    pub description: Option<String>,
    /// `"gpt-4"`, `"openai/gpt-4"` or `{provider, name, settings}`. Defaults to the built-in `echo` model.
    pub model: Option<ModelSpec>,
    pub system_prompt: Option<String>,
    /// Skill ids or `{id, version, enabled, config}` objects; each is validated against the catalog.
    pub skills: Option<Vec<SkillSpec>>,
    pub settings: Option<AgentSettingsInput>,
    pub memory: Option<MemoryInput>,
}

/// `PATCH /v2/agents/{agentId}` body: only the fields given change; `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateAgentInput {
    /// Read-only: ignored.
    pub id: Option<ID>,
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
    pub model: Option<ModelSpec>,
    pub system_prompt: MaybeUndefined<String>,
    /// Replaces the installed skills as a whole.
    pub skills: Option<Vec<SkillSpec>>,
    pub settings: Option<UpdateAgentSettingsInput>,
    pub memory: Option<MemoryInput>,
}

/// `settings` in an update: `null` clears temperature or maxTokens.
#[derive(InputObject, Default)]
pub struct UpdateAgentSettingsInput {
    pub temperature: MaybeUndefined<f64>,
    pub max_tokens: MaybeUndefined<i64>,
    pub memory_enabled: Option<bool>,
}

pub(crate) fn resolve_model(spec: &ModelSpec) -> AppResult<ModelRef> {
    match (&spec.text, &spec.provider, &spec.name) {
        (Some(text), _, _) => models::parse_model("model", text),
        (None, Some(provider), Some(name)) => models::build("model", provider, name),
        (None, None, Some(name)) => models::parse_model("model", name),
        (None, _, None) => Err(AppError::validation("model.name", "is required")),
    }
}

fn max_tokens(raw: Option<i64>) -> AppResult<Option<i32>> {
    raw.map(|m| {
        i32::try_from(m).map_err(|_| AppError::validation("settings.maxTokens", "must be between 1 and 1000000"))
    })
    .transpose()
}

fn skill_requests(specs: Option<Vec<SkillSpec>>) -> Option<Vec<SkillRequest>> {
    specs.map(|specs| {
        specs
            .into_iter()
            .map(|s| SkillRequest { skill_id: s.id, version: s.version, enabled: s.enabled, config: s.config })
            .collect()
    })
}

impl CreateAgentInput {
    pub fn into_new_agent(self) -> AppResult<NewAgent> {
        let model_spec = self.model.unwrap_or_else(|| ModelSpec { text: Some("echo".into()), ..ModelSpec::default() });
        let model = resolve_model(&model_spec)?;
        let settings = self.settings.unwrap_or_default();
        let memory = self.memory.unwrap_or_default();
        Ok(NewAgent {
            name: self.name,
            description: self.description,
            model,
            temperature: settings.temperature.or(model_spec.temperature),
            max_tokens: max_tokens(settings.max_tokens.or(model_spec.max_tokens))?,
            system_prompt: self.system_prompt,
            memory_enabled: memory.enabled.or(settings.memory_enabled).unwrap_or(false),
            memory_type: memory.kind,
            memory_retention: memory.retention,
            skills: skill_requests(self.skills).unwrap_or_default(),
        })
    }
}

fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

impl UpdateAgentInput {
    pub fn into_patch(self) -> AppResult<AgentPatch> {
        let model = self.model.as_ref().map(resolve_model).transpose()?;
        let settings = self.settings.unwrap_or_default();
        let memory = self.memory.unwrap_or_default();
        let model_temperature = self.model.as_ref().and_then(|m| m.temperature).map(Some);
        let model_max_tokens = self.model.as_ref().and_then(|m| m.max_tokens).map(Some);
        let max_tokens = match maybe(settings.max_tokens).or(model_max_tokens) {
            Some(Some(m)) => Some(max_tokens(Some(m))?),
            Some(None) => Some(None),
            None => None,
        };
        Ok(AgentPatch {
            name: self.name,
            description: maybe(self.description),
            model,
            temperature: maybe(settings.temperature).or(model_temperature),
            max_tokens,
            system_prompt: maybe(self.system_prompt),
            memory_enabled: memory.enabled.or(settings.memory_enabled),
            memory_type: memory.kind,
            memory_retention: memory.retention,
            skills: skill_requests(self.skills),
        })
    }
}
