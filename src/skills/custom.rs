//! A custom skill as a tool: the model's arguments are checked against the skill's schema, then POSTed to its
//! endpoint (through the SSRF guard) signed like a webhook delivery — `X-OpenClaw-Signature` and Standard
//! Webhooks headers, event type `skill.invoke`. A 2xx JSON answer is the result; anything else (an error status,
//! a body that is not JSON, no answer in time) is an error the model sees.
use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Skill, ToolContext, ToolError, parse_arguments};
use crate::{
    llm::ToolSpec,
    outbound::{OutboundRequest, Redirects},
    services::custom_skills,
    webhooks::signing,
};
use entity::skill;

/// Largest answer read from a custom skill endpoint.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

pub struct CustomSkill {
    skill: skill::Model,
}

impl CustomSkill {
    pub fn new(skill: skill::Model) -> Self {
        Self { skill }
    }
}

fn argument_validator(schema: &Value) -> Result<jsonschema::Validator, ToolError> {
    crate::services::json_schema::compile("parameters", schema)
        .map_err(|err| ToolError::Unavailable(format!("its schema cannot be used: {err}")))
}

#[async_trait]
impl Skill for CustomSkill {
    fn id(&self) -> &str {
        &self.skill.id
    }

    fn tools(&self, _config: &Value) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: custom_skills::tool_name(&self.skill.id),
            description: self.skill.description.clone(),
            parameters: self.skill.parameters.clone().unwrap_or_else(|| json!({ "type": "object" })),
        }]
    }

    async fn call(&self, ctx: &ToolContext<'_>, tool: &str, config: &Value, raw: &str) -> Result<Value, ToolError> {
        let arguments = Value::Object(parse_arguments(raw)?);
        if let Some(schema) = &self.skill.parameters {
            // Through the same bounds as registration: a schema stored before they existed must not blow up.
            let validator = argument_validator(schema)?;
            if let Some(error) = validator.iter_errors(&arguments).next() {
                let at = error.instance_path.to_string();
                let at = if at.is_empty() { String::new() } else { format!(" at `{at}`") };
                return Err(ToolError::InvalidArguments(format!("{error}{at}")));
            }
        }
        let (Some(endpoint), Some(secret)) = (&self.skill.endpoint_url, &self.skill.secret) else {
            return Err(ToolError::Unavailable("the skill has no endpoint".into()));
        };
        let invocation = crate::ids::new_id("inv");
        let body = signing::body(&json!({
            "id": invocation,
            "skillId": self.skill.id,
            "tool": tool,
            "arguments": arguments,
            "config": config,
            "agentId": ctx.agent.id,
            "conversationId": ctx.conversation_id,
            "userId": ctx.user_id,
        }));
        let headers =
            signing::headers(&[secret.as_str()], &invocation, "skill.invoke", chrono::Utc::now().timestamp(), &body);
        let timeout = std::time::Duration::from_millis(ctx.state.config.tool_timeout_ms);
        let answer = ctx
            .state
            .outbound
            .send(
                // The signed invocation goes to the registered endpoint only.
                OutboundRequest {
                    method: reqwest::Method::POST,
                    url: endpoint,
                    headers: &headers,
                    body: Some(body.into()),
                    redirects: Redirects::Refuse,
                },
                MAX_ANSWER_BYTES,
                timeout,
            )
            .await
            .map_err(|err| match err {
                crate::outbound::OutboundError::Timeout => ToolError::Timeout(timeout.as_millis()),
                other => ToolError::Failed(format!("the skill endpoint could not be reached: {other}")),
            })?;
        if !(200..300).contains(&answer.status) {
            let excerpt: String = String::from_utf8_lossy(&answer.bytes).chars().take(300).collect();
            return Err(ToolError::Failed(format!("the skill endpoint answered HTTP {}: {excerpt}", answer.status)));
        }
        serde_json::from_slice(&answer.bytes)
            .map_err(|err| ToolError::Failed(format!("the skill endpoint did not answer JSON ({err})")))
    }
}
