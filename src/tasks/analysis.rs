//! `analysis` tasks: read a CSV/JSON table (from `fileUrl` through the outbound guard, or a stored `fileId`),
//! `summarize` it (statistics, and a narrative from the agent's model when `agentId` is given) and `visualize` it
//! (PNG charts stored as files the result links to). Progress follows the steps actually done.
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{TaskContext, TaskError};
use crate::{
    analysis::{self, ChartLimits, Limits},
    llm::{ChatMessage, ChatRequest, Chunk, Role},
    services::{agents, files, usage},
};

pub async fn run(context: &TaskContext) -> Result<Value, TaskError> {
    let state = &context.state;
    let input = &context.task.input;
    let account_id = context.task.account_id.as_str();
    let operations: Vec<String> = input
        .get("operations")
        .and_then(Value::as_array)
        .map(|ops| ops.iter().filter_map(|op| op.as_str().map(str::to_owned)).collect())
        .unwrap_or_else(|| vec!["summarize".to_owned()]);
    let limit = state.config.task_max_input_bytes;
    let (bytes, content_type, name) =
        match (input.get("fileUrl").and_then(Value::as_str), input.get("fileId").and_then(Value::as_str)) {
            (Some(url), _) => {
                let fetched =
                    state.outbound.fetch(url, limit, Duration::from_secs(60)).await.map_err(|err| {
                        TaskError::new("input_unavailable", format!("fileUrl could not be read: {err}"))
                    })?;
                (fetched.bytes, fetched.content_type, Some(url.to_owned()))
            }
            (None, Some(id)) => {
                let file = files::get(&state.db, account_id, id).await?;
                if file.size as usize > limit {
                    return Err(TaskError::new("input_too_large", format!("the file is larger than {limit} bytes")));
                }
                let bytes = files::content(state.storage.as_ref(), &file).await?;
                (bytes, Some(file.content_type), Some(file.name))
            }
            (None, None) => return Err(TaskError::new("validation_error", "input needs fileUrl or fileId")),
        };
    context.progress(20);
    let limits = Limits { max_bytes: limit, ..Limits::default() };
    let table = blocking(move || analysis::load_table(&bytes, content_type.as_deref(), name.as_deref(), &limits))
        .await?
        .map_err(|err| TaskError::new(err.code(), err.to_string()))?;
    let table = std::sync::Arc::new(table);
    context.progress(40);
    let stats = {
        let table = table.clone();
        blocking(move || analysis::summarize(&table)).await?
    };
    let mut result = serde_json::Map::new();
    if operations.iter().any(|op| op == "summarize") {
        let narrative = match input.get("agentId").and_then(Value::as_str) {
            Some(agent_id) => model_narrative(context, agent_id, &stats).await?,
            None => analysis::narrative(&stats),
        };
        result.insert("summary".into(), Value::String(narrative));
    }
    result.insert("statistics".into(), serde_json::to_value(&stats).unwrap_or(Value::Null));
    context.progress(60);
    if operations.iter().any(|op| op == "visualize") {
        let charts = {
            let (table, stats) = (table.clone(), stats.clone());
            blocking(move || analysis::render_charts(&table, &stats, &ChartLimits::default()))
                .await?
                .map_err(|err| TaskError::new(err.code(), err.to_string()))?
        };
        context.progress(80);
        let mut links = Vec::new();
        let mut chart_files = Vec::new();
        for chart in charts {
            let file = files::store(
                &state.db,
                state.storage.as_ref(),
                account_id,
                &chart.name,
                "image/png",
                "task_output",
                Bytes::from(chart.png),
            )
            .await?;
            let url = files::content_path(&file.id);
            links.push(Value::String(url.clone()));
            chart_files.push(json!({
                "fileId": file.id, "name": file.name, "column": chart.column,
                "kind": format!("{:?}", chart.kind).to_lowercase(), "url": url,
            }));
        }
        result.insert("charts".into(), Value::Array(links));
        result.insert("chartFiles".into(), Value::Array(chart_files));
    }
    Ok(Value::Object(result))
}

/// CPU-heavy work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, TaskError> {
    tokio::task::spawn_blocking(work).await.map_err(|_| TaskError::new("internal_error", "the analysis step panicked"))
}

/// Asks the agent's model to describe the statistics; the call's tokens count toward the account's usage.
async fn model_narrative(
    context: &TaskContext,
    agent_id: &str,
    stats: &analysis::Summary,
) -> Result<String, TaskError> {
    let state = &context.state;
    let agent = agents::get(&state.db, &context.task.account_id, agent_id).await?;
    state.limiter.check_account_quota(&state.db, &context.task.account_id).await?;
    let resolved = state.llm.resolve(&agents::model_ref(&agent))?;
    let stats_json = serde_json::to_string(stats).unwrap_or_default();
    let mut messages = Vec::new();
    if let Some(system) = agent.system_prompt.clone().filter(|s| !s.is_empty()) {
        messages.push(ChatMessage::new(Role::System, system));
    }
    messages.push(ChatMessage::new(
        Role::User,
        format!("Summarize this table for a reader in a few sentences. Column statistics (JSON): {stats_json}"),
    ));
    let request = ChatRequest {
        model: resolved.model.clone(),
        messages,
        temperature: agent.temperature,
        max_tokens: agent.max_tokens.map(|t| t.max(1) as u32),
        tools: Vec::new(),
        tool_choice: None,
    };
    let model_error =
        |err: crate::llm::LlmError| TaskError { code: err.code(), message: err.to_string(), retryable: false };
    let mut stream = resolved.provider.stream(request.clone()).await.map_err(model_error)?;
    let mut text = String::new();
    let mut reported = None;
    while let Some(chunk) = stream.next().await {
        match chunk.map_err(model_error)? {
            Chunk::Delta(delta) => text.push_str(&delta),
            Chunk::Usage(u) => reported = Some(u),
            _ => {}
        }
    }
    // Servers that send no usage chunk are counted the way the echo model counts.
    let used = reported.unwrap_or(crate::llm::Usage {
        prompt_tokens: crate::llm::tokens::count_prompt(&request.messages),
        completion_tokens: crate::llm::tokens::count(&text),
    });
    let txn = crate::db::begin_write(&state.db).await.map_err(crate::error::AppError::from)?;
    let recorded = usage::add(&txn, &state.limiter.plans, &context.task.account_id, chrono::Utc::now(), used).await?;
    txn.commit().await.map_err(crate::error::AppError::from)?;
    recorded.into_iter().for_each(|event| state.publish(event));
    Ok(text)
}
