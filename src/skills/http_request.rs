//! `http-request`: the model calls an HTTP API on a host the install allows (`allowedHosts`, exact names or
//! `*.example.com`; none allowed by default), with the allowed `methods` (GET by default), within `timeoutMs`.
//! Every request also passes the SSRF guard, so an allowed name that resolves to a private address is refused.
//! Answers of any status come back to the model, cut to a readable size.
use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Skill, ToolContext, ToolError, arguments, config_u64};
use crate::{
    llm::ToolSpec,
    outbound::{OutboundError, OutboundRequest, Redirects},
};

/// Largest answer read, and how much of it the model sees.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
const MAX_SHOWN_CHARS: usize = 20_000;

pub struct HttpRequest;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    url: String,
    #[serde(default = "get")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<Value>,
}

fn get() -> String {
    "GET".to_owned()
}

/// Whether `host` matches an `allowedHosts` entry (`api.example.com`, or `*.example.com` for its subdomains).
fn host_allowed(host: &str, allowed: &[&str]) -> bool {
    let host = host.to_ascii_lowercase();
    allowed.iter().any(|entry| {
        let entry = entry.to_ascii_lowercase();
        match entry.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == entry,
        }
    })
}

#[async_trait]
impl Skill for HttpRequest {
    fn id(&self) -> &str {
        "http-request"
    }

    fn tools(&self, config: &Value) -> Vec<ToolSpec> {
        let hosts: Vec<&str> = config
            .get("allowedHosts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let hosts = if hosts.is_empty() { "none are configured yet".to_owned() } else { hosts.join(", ") };
        vec![ToolSpec {
            name: "http_request".into(),
            description: format!("Call an HTTP API and read its answer. Allowed hosts: {hosts}."),
            parameters: json!({
                "type": "object",
                "properties": {
                    "url": { "type": "string", "description": "Absolute http(s) URL." },
                    "method": { "type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"] },
                    "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                    "body": { "description": "JSON value or text sent as the request body." }
                },
                "required": ["url"],
                "additionalProperties": false
            }),
        }]
    }

    async fn call(&self, ctx: &ToolContext<'_>, _tool: &str, config: &Value, raw: &str) -> Result<Value, ToolError> {
        let args: Args = arguments(raw)?;
        let method = args.method.to_ascii_uppercase();
        let methods: Vec<&str> = config
            .get("methods")
            .and_then(Value::as_array)
            .map(|m| m.iter().filter_map(Value::as_str).collect())
            .unwrap_or_else(|| vec!["GET"]);
        if !methods.contains(&method.as_str()) {
            return Err(ToolError::InvalidArguments(format!(
                "method {method} is not allowed (allowed: {})",
                methods.join(", ")
            )));
        }
        let url = url::Url::parse(&args.url).map_err(|err| ToolError::InvalidArguments(format!("`url`: {err}")))?;
        let host = url.host_str().unwrap_or_default();
        let allowed: Vec<&str> = config
            .get("allowedHosts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !host_allowed(host, &allowed) {
            return Err(ToolError::InvalidArguments(format!("host `{host}` is not in this skill's allowedHosts")));
        }
        let mut headers: Vec<(String, String)> = args.headers.into_iter().collect();
        let body = match args.body {
            None => None,
            Some(Value::String(text)) => Some(text.into_bytes()),
            Some(value) => {
                headers.push(("content-type".into(), "application/json".into()));
                Some(value.to_string().into_bytes())
            }
        };
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|err| ToolError::InvalidArguments(err.to_string()))?;
        let timeout = std::time::Duration::from_millis(config_u64(config, "timeoutMs", 10_000).clamp(100, 60_000));
        let answer = ctx
            .state
            .outbound
            .send(
                // A redirect would leave the allowed hosts (and resend the body and headers): the model gets the 3xx.
                OutboundRequest {
                    method,
                    url: url.as_str(),
                    headers: &headers,
                    body: body.map(Into::into),
                    redirects: Redirects::Refuse,
                },
                MAX_RESPONSE_BYTES,
                timeout,
            )
            .await
            .map_err(|err| match err {
                OutboundError::Timeout => ToolError::Timeout(timeout.as_millis()),
                OutboundError::Forbidden { .. } | OutboundError::InvalidUrl(_) => {
                    ToolError::InvalidArguments(err.to_string())
                }
                other => ToolError::Failed(other.to_string()),
            })?;
        let text = String::from_utf8_lossy(&answer.bytes);
        let truncated = text.chars().count() > MAX_SHOWN_CHARS;
        let shown: String = text.chars().take(MAX_SHOWN_CHARS).collect();
        let is_json = answer.content_type.as_deref().is_some_and(|t| t.contains("json"));
        let body = match serde_json::from_str::<Value>(&shown) {
            Ok(value) if is_json && !truncated => value,
            _ => Value::String(shown),
        };
        Ok(json!({ "status": answer.status, "contentType": answer.content_type, "body": body, "truncated": truncated }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_match_exactly_or_by_wildcard() {
        let allowed = ["api.example.com", "*.internal.test"];
        assert!(host_allowed("api.example.com", &allowed));
        assert!(host_allowed("API.Example.com", &allowed));
        assert!(host_allowed("a.b.internal.test", &allowed));
        assert!(!host_allowed("internal.test", &allowed));
        assert!(!host_allowed("evil-api.example.com", &allowed));
        assert!(!host_allowed("api.example.com.evil.net", &allowed));
        assert!(!host_allowed("anything", &[]));
    }
}
