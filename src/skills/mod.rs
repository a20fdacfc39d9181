//! Skills as tools: each installed, enabled skill with an implementation offers the model one or more tools; the
//! run loop ([`crate::runs`]) asks the [`Toolbox`] to execute the calls the model makes and feeds the results back.
//!
//! A tool failure is a result too: the model receives `{"error": {"code", "message"}}` and may recover, and the
//! failure is recorded in the reply's trace. Nothing a tool does can fail the server or the run.
mod calculator;
mod custom;
mod datetime;
mod http_request;
mod knowledge_base;
mod memory;
mod tickets;
mod web_search;

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::AppResult,
    llm::{ToolCall, ToolSpec},
    services::skills,
};
use entity::agent;

/// Who a tool call runs for: the reply's tenant, agent, conversation and user.
pub struct ToolContext<'a> {
    pub state: &'a AppState,
    pub account_id: &'a str,
    pub agent: &'a agent::Model,
    pub conversation_id: &'a str,
    pub user_id: Option<&'a str>,
    /// The user message being answered (provenance of what a tool stores).
    pub message_id: Option<&'a str>,
}

/// Why a tool call produced no result. The model sees `code` and the message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    #[error("no tool named `{0}` is available to this agent")]
    UnknownTool(String),
    #[error("the arguments are not valid: {0}")]
    InvalidArguments(String),
    #[error("{0}")]
    Failed(String),
    #[error("the tool is not available: {0}")]
    Unavailable(String),
    #[error("the tool did not answer within {0} ms")]
    Timeout(u128),
}

impl ToolError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTool(_) => "unknown_tool",
            Self::InvalidArguments(_) => "invalid_arguments",
            Self::Failed(_) => "tool_failed",
            Self::Unavailable(_) => "tool_unavailable",
            Self::Timeout(_) => "tool_timeout",
        }
    }

    /// What the model is given in place of a result.
    pub fn to_json(&self) -> Value {
        json!({ "error": { "code": self.code(), "message": self.to_string() } })
    }
}

/// Arguments as a JSON object, or [`ToolError::InvalidArguments`].
pub fn parse_arguments(raw: &str) -> Result<serde_json::Map<String, Value>, ToolError> {
    let raw = if raw.trim().is_empty() { "{}" } else { raw };
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ToolError::InvalidArguments(format!("expected a JSON object, got {other}"))),
        Err(err) => Err(ToolError::InvalidArguments(format!("not JSON ({err})"))),
    }
}

/// Deserializes arguments into a tool's argument struct, naming what is wrong.
pub fn arguments<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, ToolError> {
    let map = parse_arguments(raw)?;
    serde_json::from_value(Value::Object(map)).map_err(|err| ToolError::InvalidArguments(err.to_string()))
}

/// A skill's implementation: the tools it offers under a given install config, and how to run them.
#[async_trait]
pub trait Skill: Send + Sync {
    /// The catalog id (`calculator`), or a custom skill's id.
    fn id(&self) -> &str;
    /// The tools offered to the model. `config` is the installed config (defaults not filled in).
    fn tools(&self, config: &Value) -> Vec<ToolSpec>;
    /// Runs one call of one of this skill's tools.
    async fn call(
        &self,
        ctx: &ToolContext<'_>,
        tool: &str,
        config: &Value,
        arguments: &str,
    ) -> Result<Value, ToolError>;
}

/// The built-in skills, by catalog id.
pub fn builtins() -> Vec<Arc<dyn Skill>> {
    vec![
        Arc::new(calculator::Calculator),
        Arc::new(datetime::DateTime),
        Arc::new(memory::MemorySkill),
        Arc::new(knowledge_base::KnowledgeBase),
        Arc::new(tickets::TicketSystem),
        Arc::new(http_request::HttpRequest),
        Arc::new(web_search::WebSearch),
    ]
}

/// The tool names a catalog skill offers (empty for catalog entries without an implementation).
pub fn tool_names(skill_id: &str) -> Vec<String> {
    builtins()
        .into_iter()
        .filter(|skill| skill.id() == skill_id)
        .flat_map(|skill| skill.tools(&Value::Object(Default::default())))
        .map(|tool| tool.name)
        .collect()
}

struct Offered {
    spec: ToolSpec,
    skill: Arc<dyn Skill>,
    config: Value,
}

/// The tools one run offers: every enabled skill installed on the agent that has an implementation.
#[derive(Default)]
pub struct Toolbox {
    tools: Vec<Offered>,
    by_name: HashMap<String, usize>,
    timeout: Duration,
}

impl Toolbox {
    pub async fn for_agent(state: &AppState, agent: &agent::Model) -> AppResult<Self> {
        let installed = skills::installed_for_agents(&state.db, std::slice::from_ref(&agent.id)).await?;
        let mut implementations: HashMap<String, Arc<dyn Skill>> =
            builtins().into_iter().map(|skill| (skill.id().to_owned(), skill)).collect();
        let rows = installed.get(&agent.id).map(Vec::as_slice).unwrap_or_default();
        let ids: Vec<String> = rows.iter().filter(|row| row.enabled).map(|row| row.skill_id.clone()).collect();
        for custom in crate::services::custom_skills::find_custom(&state.db, &ids).await? {
            implementations.insert(custom.id.clone(), Arc::new(custom::CustomSkill::new(custom)));
        }
        let mut toolbox =
            Toolbox { timeout: Duration::from_millis(state.config.tool_timeout_ms), ..Default::default() };
        for row in rows.iter().filter(|row| row.enabled) {
            let Some(skill) = implementations.get(row.skill_id.as_str()) else { continue };
            for spec in skill.tools(&row.config) {
                if toolbox.by_name.contains_key(&spec.name) {
                    continue;
                }
                toolbox.by_name.insert(spec.name.clone(), toolbox.tools.len());
                toolbox.tools.push(Offered { spec, skill: skill.clone(), config: row.config.clone() });
            }
        }
        Ok(toolbox)
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|tool| tool.spec.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The tool's name when exactly one is offered.
    pub fn only_tool(&self) -> Option<&str> {
        match self.tools.as_slice() {
            [only] => Some(&only.spec.name),
            _ => None,
        }
    }

    /// The skill offering a tool.
    pub fn skill_of(&self, tool: &str) -> Option<&str> {
        self.by_name.get(tool).map(|&i| self.tools[i].skill.id())
    }

    /// Runs a call within the tool time limit. Never panics the run: a panicking tool is a failed call.
    pub async fn execute(&self, ctx: &ToolContext<'_>, call: &ToolCall) -> Result<Value, ToolError> {
        use futures_util::FutureExt;
        let Some(tool) = self.by_name.get(&call.name).map(|&i| &self.tools[i]) else {
            return Err(ToolError::UnknownTool(call.name.clone()));
        };
        let run = std::panic::AssertUnwindSafe(tool.skill.call(ctx, &call.name, &tool.config, &call.arguments));
        match tokio::time::timeout(self.timeout, run.catch_unwind()).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => {
                tracing::error!(tool = %call.name, "a tool panicked");
                Err(ToolError::Failed("the tool crashed".into()))
            }
            Err(_) => Err(ToolError::Timeout(self.timeout.as_millis())),
        }
    }
}

/// A config value with its default.
pub(crate) fn config_u64(config: &Value, key: &str, default: u64) -> u64 {
    config.get(key).and_then(Value::as_u64).unwrap_or(default)
}

pub(crate) fn config_str<'a>(config: &'a Value, key: &str, default: &'a str) -> &'a str {
    config.get(key).and_then(Value::as_str).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every implementation is a catalog skill, and its tools have valid names and object schemas.
    #[test]
    fn implementations_match_the_catalog() {
        let catalog: Vec<Value> =
            serde_json::from_str(include_str!("../../migration/src/catalog.json")).expect("catalog");
        let ids: Vec<&str> = catalog.iter().filter_map(|s| s["id"].as_str()).collect();
        for skill in builtins() {
            assert!(ids.contains(&skill.id()), "{} is not in the catalog", skill.id());
            let tools = skill.tools(&json!({}));
            assert!(!tools.is_empty(), "{} offers no tools", skill.id());
            for tool in tools {
                assert!(
                    tool.name.len() <= 64 && tool.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{}",
                    tool.name
                );
                assert_eq!(tool.parameters["type"], "object", "{}", tool.name);
                // Our own schemas pass the bounds every user-supplied one must pass.
                crate::services::json_schema::compile(&tool.name, &tool.parameters).expect("a valid JSON Schema");
            }
        }
    }

    #[test]
    fn malformed_arguments_are_named() {
        assert!(matches!(parse_arguments("{bad"), Err(ToolError::InvalidArguments(_))));
        assert!(matches!(parse_arguments("[1]"), Err(ToolError::InvalidArguments(_))));
        assert_eq!(parse_arguments("").expect("empty is {}").len(), 0);
    }
}
