//! One reply's generation, detached from any client connection: resolve the model, build the prompt, stream from
//! the provider into the run log (and the bus), then store the outcome. A client that disconnects changes
//! nothing; only a cancel or the provider ends the run early.
use std::sync::Arc;

use chrono::Utc;
use futures_util::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{RunLog, payload, prompt};
use crate::{
    app::AppState,
    error::{AppError, AppResult},
    events::StreamEventKind,
    llm::{ChatRequest, Chunk, FinishReason, LlmError, Resolved, Usage, tokens},
    services::{
        agents, conversations,
        messages::{self, Outcome, status},
    },
};
use entity::{agent, conversation, message};

/// How many stored messages are read for the prompt before trimming to the context window.
const HISTORY_LIMIT: u64 = 200;

/// Publishes each event to the run log and to the conversation's bus topic.
struct Emitter<'a> {
    state: &'a AppState,
    log: &'a RunLog,
}

impl Emitter<'_> {
    fn emit(&self, kind: StreamEventKind, data: serde_json::Value) {
        let event = self.log.push(kind, data);
        self.state.events.publish_stream(event);
    }
}

/// The model and settings a reply uses: the conversation's settings override the agent's.
fn settings(
    state: &AppState,
    agent: &agent::Model,
    conversation: &conversation::Model,
) -> AppResult<(Resolved, Option<f64>, Option<u32>)> {
    let model = conversations::model_override(conversation).unwrap_or_else(|| agents::model_ref(agent));
    let resolved = state.llm.resolve(&model)?;
    let temperature = conversation.temperature.or(agent.temperature);
    let max_tokens = conversation.max_tokens.or(agent.max_tokens).and_then(|m| u32::try_from(m).ok());
    Ok((resolved, temperature, max_tokens))
}

/// Runs the reply to completion (or failure, or cancellation) and stores it.
#[tracing::instrument(skip_all, fields(reply_id = %reply.id, conversation_id = %reply.conversation_id))]
pub async fn run(state: AppState, reply: message::Model, log: Arc<RunLog>, cancel: CancellationToken) {
    let emitter = Emitter { state: &state, log: &log };
    let mut progress = Progress::default();
    let result = generate(&state, &reply, &emitter, &cancel, &mut progress).await;
    let model = progress.model.clone().unwrap_or_default();
    let (status, error) = match &result {
        Ok(()) if cancel.is_cancelled() => (status::CANCELLED, None),
        Ok(()) => (status::COMPLETED, None),
        Err(failure) => (status::FAILED, Some(failure.clone())),
    };
    let usage = progress.usage.unwrap_or(Usage {
        prompt_tokens: progress.prompt_estimate,
        completion_tokens: tokens::count(&progress.content),
    });
    let outcome = Outcome {
        status,
        content: progress.content,
        model,
        usage,
        finish_reason: progress.finish.map(finish_name).map(str::to_owned),
        error: error.as_ref().map(|(code, message)| json!({ "code": code, "message": message })),
        deltas: progress.deltas,
        completed_at: Utc::now(),
    };
    match messages::finish_reply(&state.db, &state.limiter.plans, &reply, outcome).await {
        Ok((stored, recorded)) => {
            if let Some((code, message)) = &error {
                emitter.emit(StreamEventKind::Error, payload::error(&reply.id, code, message));
            } else {
                emitter.emit(StreamEventKind::MessageCompleted, payload::completed(&stored));
            }
            emitter.emit(StreamEventKind::Done, payload::done(&reply.id, &stored.status));
            recorded.into_iter().for_each(|event| state.publish(event));
        }
        Err(err) => {
            tracing::error!(error = %err, "could not store a finished reply");
            emitter.emit(StreamEventKind::Error, payload::error(&reply.id, err.code(), &err.public_message()));
            emitter.emit(StreamEventKind::Done, payload::done(&reply.id, status::FAILED));
            let _ = messages::release(&state.db, &reply.conversation_id, &reply.id).await;
        }
    }
}

/// What the run has produced so far.
#[derive(Default)]
struct Progress {
    model: Option<String>,
    content: String,
    deltas: Vec<usize>,
    usage: Option<Usage>,
    prompt_estimate: u64,
    finish: Option<FinishReason>,
}

fn finish_name(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

/// Streams the reply. `Err((code, message))` is a failure to store on the reply; a cancel returns `Ok`.
async fn generate(
    state: &AppState,
    reply: &message::Model,
    emitter: &Emitter<'_>,
    cancel: &CancellationToken,
    progress: &mut Progress,
) -> Result<(), (String, String)> {
    let app_failure = |err: AppError| (err.code().to_owned(), err.public_message());
    let conversation =
        conversations::get(&state.db, &reply.account_id, &reply.conversation_id).await.map_err(app_failure)?;
    let agent = agents::get(&state.db, &reply.account_id, &conversation.agent_id).await.map_err(app_failure)?;
    let (resolved, temperature, max_tokens) = settings(state, &agent, &conversation).map_err(app_failure)?;
    progress.model = Some(resolved.label());
    emitter.emit(StreamEventKind::MessageCreated, payload::created(reply, &resolved.label()));
    let history =
        messages::history(&state.db, &reply.conversation_id, &reply.id, HISTORY_LIMIT).await.map_err(app_failure)?;
    let prompt =
        prompt::build(agent.system_prompt.as_deref(), &history, resolved.provider.context_window(), max_tokens);
    progress.prompt_estimate = tokens::count_prompt(&prompt);
    let request =
        ChatRequest { model: resolved.model.clone(), messages: prompt, temperature, max_tokens, tools: vec![] };
    let llm_failure = |err: LlmError| (err.code().to_owned(), err.to_string());
    let mut chunks = tokio::select! {
        started = resolved.provider.stream(request) => started.map_err(llm_failure)?,
        () = cancel.cancelled() => return Ok(()),
    };
    loop {
        let chunk = tokio::select! {
            chunk = chunks.next() => chunk,
            () = cancel.cancelled() => return Ok(()),
        };
        match chunk {
            None => break,
            Some(Err(err)) => return Err(llm_failure(err)),
            Some(Ok(Chunk::Delta(text))) if !text.is_empty() => {
                progress.content.push_str(&text);
                progress.deltas.push(progress.content.len());
                emitter.emit(StreamEventKind::MessageDelta, payload::delta(&reply.id, &text));
            }
            Some(Ok(Chunk::Delta(_))) => {}
            Some(Ok(Chunk::Usage(usage))) => progress.usage = Some(usage),
            Some(Ok(Chunk::Finish(reason))) => progress.finish = Some(reason),
            Some(Ok(Chunk::ToolCallDelta { .. })) => {
                // No tools are offered to the model yet (skills as tools come with the skills capability); a
                // model that calls one anyway gets its text reply stored and the call ignored.
                tracing::warn!("the model called a tool although none was offered; ignored");
            }
        }
    }
    Ok(())
}
