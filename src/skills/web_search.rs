//! `web-search`: searches the web through the backend the operator configured — a SearXNG instance's JSON API
//! (`OPENCLAW_WEB_SEARCH_URL`) or Brave's Search API (`OPENCLAW_WEB_SEARCH_BACKEND=brave` with the key in the
//! variable `OPENCLAW_WEB_SEARCH_API_KEY_ENV` names). Without one, the tool tells the model that search is not
//! available rather than inventing results.
use std::sync::OnceLock;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Skill, ToolContext, ToolError, arguments, config_u64};
use crate::llm::ToolSpec;

const BRAVE_URL: &str = "https://api.search.brave.com/res/v1/web/search";
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

pub struct WebSearch;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    query: String,
}

/// The operator's backend is trusted configuration, so it is reached without the SSRF guard (a SearXNG on the
/// same host is the common set-up).
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| reqwest::Client::builder().timeout(TIMEOUT).build().unwrap_or_default())
}

#[async_trait]
impl Skill for WebSearch {
    fn id(&self) -> &str {
        "web-search"
    }

    fn tools(&self, _config: &Value) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "web_search".into(),
            description: "Search the web; returns titles, URLs and snippets of the top results.".into(),
            parameters: json!({
                "type": "object",
                "properties": { "query": { "type": "string" } },
                "required": ["query"],
                "additionalProperties": false
            }),
        }]
    }

    async fn call(&self, ctx: &ToolContext<'_>, _tool: &str, config: &Value, raw: &str) -> Result<Value, ToolError> {
        let args: Args = arguments(raw)?;
        let query = args.query.trim();
        if query.is_empty() || query.chars().count() > 500 {
            return Err(ToolError::InvalidArguments("`query` must be 1-500 characters".into()));
        }
        let max = config_u64(config, "maxResults", 5).clamp(1, 50) as usize;
        let safe = config.get("safeSearch").and_then(Value::as_bool).unwrap_or(true);
        let region = config.get("region").and_then(Value::as_str);
        let settings = &ctx.state.config;
        let results = match settings.web_search_backend.as_str() {
            "searxng" => {
                let Some(base) = settings.web_search_url.as_deref() else {
                    return Err(ToolError::Unavailable("web search is not configured on this server".into()));
                };
                searxng(base, query, safe, region).await?
            }
            "brave" => {
                let key = settings
                    .web_search_api_key_env
                    .as_deref()
                    .and_then(|var| std::env::var(var).ok())
                    .filter(|key| !key.is_empty())
                    .ok_or_else(|| ToolError::Unavailable("the web search API key is not set on this server".into()))?;
                brave(&key, query, max, safe, region).await?
            }
            _ => return Err(ToolError::Unavailable("web search is not configured on this server".into())),
        };
        Ok(json!({ "query": query, "results": results.into_iter().take(max).collect::<Vec<_>>() }))
    }
}

fn failed(err: reqwest::Error) -> ToolError {
    if err.is_timeout() {
        ToolError::Timeout(TIMEOUT.as_millis())
    } else {
        ToolError::Failed(format!("the search backend failed: {err}"))
    }
}

async fn read_json(response: reqwest::Response) -> Result<Value, ToolError> {
    let status = response.status();
    if !status.is_success() {
        return Err(ToolError::Failed(format!("the search backend answered HTTP {}", status.as_u16())));
    }
    response.json().await.map_err(|err| ToolError::Failed(format!("the search backend answered garbage: {err}")))
}

/// SearXNG's JSON API: `GET /search?q=…&format=json` → `{"results": [{"title","url","content"}]}`.
async fn searxng(base: &str, query: &str, safe: bool, region: Option<&str>) -> Result<Vec<Value>, ToolError> {
    let url = format!("{}/search", base.trim_end_matches('/'));
    let mut params =
        vec![("q", query.to_owned()), ("format", "json".into()), ("safesearch", if safe { "1" } else { "0" }.into())];
    if let Some(region) = region {
        params.push(("language", region.to_owned()));
    }
    let body = read_json(client().get(url).query(&params).send().await.map_err(failed)?).await?;
    let results = body
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| ToolError::Failed("the search backend answered without `results`".into()))?;
    Ok(results
        .iter()
        .map(|r| json!({ "title": r.get("title"), "url": r.get("url"), "snippet": r.get("content") }))
        .collect())
}

/// Brave Search API: `GET /res/v1/web/search` with `X-Subscription-Token` → `{"web": {"results": [...]}}`.
async fn brave(key: &str, query: &str, max: usize, safe: bool, region: Option<&str>) -> Result<Vec<Value>, ToolError> {
    let mut params = vec![
        ("q", query.to_owned()),
        ("count", max.min(20).to_string()),
        ("safesearch", if safe { "moderate" } else { "off" }.into()),
    ];
    if let Some(country) = region.and_then(|r| r.split('-').nth(1)) {
        params.push(("country", country.to_owned()));
    }
    let request =
        client().get(BRAVE_URL).header("X-Subscription-Token", key).header("Accept", "application/json").query(&params);
    let body = read_json(request.send().await.map_err(failed)?).await?;
    let results = body.pointer("/web/results").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(results
        .iter()
        .map(|r| json!({ "title": r.get("title"), "url": r.get("url"), "snippet": r.get("description") }))
        .collect())
}
