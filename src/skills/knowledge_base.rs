//! `knowledge-base`: searches the account's `knowledge` files (their extracted, chunked text) and returns the
//! best passages with the file they come from, so the model can answer from them and cite. The install config's
//! `index` limits the search to one collection; `topK` and `minScore` shape the answer.
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Skill, ToolContext, ToolError, arguments, config_u64};
use crate::{
    error::AppError,
    llm::ToolSpec,
    services::{fulltext, knowledge},
};

pub struct KnowledgeBase;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    query: String,
}

#[async_trait]
impl Skill for KnowledgeBase {
    fn id(&self) -> &str {
        "knowledge-base"
    }

    fn tools(&self, _config: &Value) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "knowledge_base_search".into(),
            description: "Search the organisation's documents (policies, manuals, FAQs) and get the most relevant \
                          passages with their file names. Use it before answering questions about them, and cite \
                          the file."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": { "query": { "type": "string", "description": "What to look for, in words." } },
                "required": ["query"],
                "additionalProperties": false
            }),
        }]
    }

    async fn call(&self, ctx: &ToolContext<'_>, _tool: &str, config: &Value, raw: &str) -> Result<Value, ToolError> {
        let args: Args = arguments(raw)?;
        let terms = fulltext::query_terms(&args.query);
        if terms.is_empty() {
            return Err(ToolError::InvalidArguments("`query` has no words to search for".into()));
        }
        let top_k = config_u64(config, "topK", 4).clamp(1, 20);
        let min_score = config.get("minScore").and_then(Value::as_f64).unwrap_or(0.0);
        let collection = config.get("index").and_then(Value::as_str);
        let passages = knowledge::search(&ctx.state.db, ctx.account_id, collection, &terms, top_k * 2)
            .await
            .map_err(|err: AppError| ToolError::Failed(err.public_message()))?;
        // Scores are relative: normalised to the best hit, so `minScore` (0–1) means "at least this close to it".
        let best = passages.first().map_or(1.0, |p| p.score.max(f64::MIN_POSITIVE));
        let found: Vec<Value> = passages
            .into_iter()
            .map(|p| (p.score / best, p))
            .filter(|(relative, _)| *relative >= min_score)
            .take(top_k as usize)
            .map(|(relative, p)| {
                json!({ "fileId": p.chunk.file_id, "fileName": p.file_name, "passage": p.chunk.content,
                        "position": p.chunk.position, "score": (relative * 1000.0).round() / 1000.0 })
            })
            .collect();
        Ok(json!({ "collection": collection, "passages": found }))
    }
}
