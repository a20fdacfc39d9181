//! One reply's generation, detached from any client connection: resolve the model, build the prompt, stream from
//! the provider into the run log (and the bus), then store the outcome. A client that disconnects changes
//! nothing; only a cancel or the provider ends the run early.
use std::sync::Arc;

use chrono::Utc;
use futures_util::StreamExt;
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{RunLog, attachments, payload, persist, prompt, recall};
use crate::{
    app::AppState,
    error::{AppError, AppResult},
    events::StreamEventKind,
    llm::{ChatMessage, ChatRequest, Chunk, FinishReason, LlmError, Resolved, Role, ToolCall, Usage, tokens},
    services::{
        agents, conversations,
        messages::{self, Outcome, status},
    },
    skills::{ToolContext, ToolError, Toolbox},
};
use entity::{agent, conversation, message};

/// How many stored messages are read for the prompt before trimming to the context window.
const HISTORY_LIMIT: u64 = 200;
/// Tool calls run per model call; the rest are answered with an error (a model emitting thousands of calls
/// cannot make one step run for hours).
const MAX_CALLS_PER_STEP: usize = 16;

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

    /// Emits an event that is not text and records it in the reply's trace, so a replay shows it in place.
    fn traced(&self, progress: &mut Progress, kind: StreamEventKind, data: serde_json::Value) {
        progress.trace.push(json!({ "event": kind.as_str(), "afterDelta": progress.deltas.len(), "data": data }));
        self.emit(kind, data);
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
    // Saves the progress periodically (off this task) so a crash keeps what was streamed up to the last save.
    let saver = persist::spawn(state.db.clone(), log.clone(), persist::Policy::from_config(&state.config));
    let result = generate(&state, &reply, &emitter, &cancel, &mut progress).await;
    // The outcome is stored next: no periodic save is needed any more (one in flight cannot overwrite the outcome,
    // see `messages::save_partial`).
    drop(saver);
    progress.close_step();
    let model = progress.model.clone().unwrap_or_default();
    let (status, error) = match &result {
        Ok(()) if cancel.is_cancelled() => (status::CANCELLED, None),
        Ok(()) => (status::COMPLETED, None),
        Err(failure) => (status::FAILED, Some(failure.clone())),
    };
    let outcome = Outcome {
        status,
        content: progress.content,
        model,
        usage: progress.usage,
        finish_reason: progress.finish.map(finish_name).map(str::to_owned),
        error: error.as_ref().map(|(code, message)| json!({ "code": code, "message": message })),
        // The stream started (`message.created`) exactly when the model was resolved: a replay must show the same.
        deltas: progress.model.is_some().then_some(progress.deltas),
        trace: progress.trace,
        completed_at: Utc::now(),
    };
    let finished = messages::finish_reply(&state.db, &state.limiter.plans, &reply, outcome).await;
    // The usage is recorded: the quota reservation goes before anyone hears the reply is done (a client's next
    // send must not find it still reserved).
    state.limiter.settle_quota(&reply.id);
    match finished {
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
    /// The reply's text, over every model call.
    content: String,
    deltas: Vec<usize>,
    /// Tokens of the finished model calls.
    usage: Usage,
    /// The model call in progress.
    step: Option<Step>,
    finish: Option<FinishReason>,
    /// Tool calls, results and recalls with their place among the deltas (see [`super::replay`]).
    trace: Vec<serde_json::Value>,
}

/// One model call: what the provider reported, or what we count ourselves when it reports nothing.
struct Step {
    reported: Option<Usage>,
    prompt_estimate: u64,
    completion: String,
}

impl Progress {
    fn open_step(&mut self, prompt_estimate: u64) {
        self.close_step();
        self.step = Some(Step { reported: None, prompt_estimate, completion: String::new() });
    }

    /// Adds the call's tokens to the reply's usage (reported, else counted).
    fn close_step(&mut self) {
        if let Some(step) = self.step.take() {
            let usage = step.reported.unwrap_or(Usage {
                prompt_tokens: step.prompt_estimate,
                completion_tokens: tokens::count(&step.completion),
            });
            self.usage.prompt_tokens += usage.prompt_tokens;
            self.usage.completion_tokens += usage.completion_tokens;
        }
    }

    fn step(&mut self) -> &mut Step {
        self.step.get_or_insert(Step { reported: None, prompt_estimate: 0, completion: String::new() })
    }
}

fn finish_name(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

/// How one model call ended.
enum StepEnd {
    /// The model answered (or the run was cancelled).
    Done,
    /// The model asked for tools; `text` is what it said before asking.
    Calls { text: String, calls: Vec<ToolCall> },
}

type Failure = (String, String);

/// Streams the reply, calling tools as the model asks. `Err((code, message))` is a failure to store on the
/// reply; a cancel returns `Ok`.
async fn generate(
    state: &AppState,
    reply: &message::Model,
    emitter: &Emitter<'_>,
    cancel: &CancellationToken,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let app_failure = |err: AppError| (err.code().to_owned(), err.public_message());
    let conversation =
        conversations::get(&state.db, &reply.account_id, &reply.conversation_id).await.map_err(app_failure)?;
    let agent = agents::get(&state.db, &reply.account_id, &conversation.agent_id).await.map_err(app_failure)?;
    let (resolved, temperature, max_tokens) = settings(state, &agent, &conversation).map_err(app_failure)?;
    progress.model = Some(resolved.label());
    emitter.emit(StreamEventKind::MessageCreated, payload::created(reply, &resolved.label()));
    let history =
        messages::history(&state.db, &reply.conversation_id, &reply.id, HISTORY_LIMIT).await.map_err(app_failure)?;
    let toolbox = Toolbox::for_agent(state, &agent).await.map_err(app_failure)?;
    // Attachments of the message being answered take at most half of the context window, recalled memories at
    // most a quarter; the history gets what is left.
    let window = resolved.provider.context_window();
    let answered = history.iter().rev().find(|m| m.role == "user");
    let attached = match answered {
        Some(message) if message.attachments.is_some() => {
            let accepts_images = resolved.provider.accepts_images();
            Some(attachments::prepare(state, message, accepts_images, u64::from(window / 2)).await)
        }
        _ => None,
    };
    let attached_tokens = attached.as_ref().map_or(0, |a| tokens::count(&a.text));
    let window = window.saturating_sub(u32::try_from(attached_tokens).unwrap_or(u32::MAX));
    let question = answered.map_or("", |m| m.content.as_str());
    let recalled = recall::recall(state, &agent, &conversation, &reply.id, question, u64::from(window / 4))
        .await
        .map_err(app_failure)?;
    let recall_tokens = recalled.as_ref().map_or(0, |r| tokens::count_prompt(std::slice::from_ref(&r.message)));
    let window = window.saturating_sub(u32::try_from(recall_tokens).unwrap_or(u32::MAX));
    let mut prompt = prompt::build(agent.system_prompt.as_deref(), &history, window, max_tokens);
    if let Some(attached) = attached
        && let Some(message) = prompt.iter_mut().rev().find(|m| m.role == Role::User)
    {
        message.content.push_str(&attached.text);
        message.images = attached.images;
    }
    if let Some(recalled) = recalled {
        let at = usize::from(prompt.first().is_some_and(|m| m.role == Role::System));
        prompt.insert(at, recalled.message);
        emitter.traced(progress, StreamEventKind::MemoryRecalled, recalled.event);
    }
    let tools = ToolContext {
        state,
        account_id: &reply.account_id,
        agent: &agent,
        conversation_id: &conversation.id,
        user_id: conversation.user_id.as_deref(),
        message_id: reply.reply_to.as_deref(),
    };
    let max_steps = state.config.tool_max_steps.max(1);
    let budget = prompt::budget(resolved.provider.context_window(), max_tokens)
        .saturating_sub(tokens::count_tools(&toolbox.specs()));
    let mut answered = prompt.iter().rposition(|m| m.role == Role::User).unwrap_or(0);
    for step in 1..=max_steps {
        // Tool results make the prompt grow during the run: make it fit the window again before each call.
        if step > 1 && !prompt::fit(&mut prompt, &mut answered, budget) {
            tracing::warn!("the prompt still exceeds the context window after trimming");
        }
        let request = ChatRequest {
            model: resolved.model.clone(),
            messages: prompt.clone(),
            temperature,
            max_tokens,
            tools: toolbox.specs(),
            // A server that ignores `auto` is made to call the agent's only tool first; then the model is free.
            tool_choice: toolbox
                .only_tool()
                .filter(|_| step == 1 && resolved.provider.forces_tool_choice())
                .map(str::to_owned),
        };
        let (text, calls) = match stream_step(&resolved, request, reply, emitter, cancel, progress).await? {
            StepEnd::Done => return Ok(()),
            StepEnd::Calls { text, calls } => (text, calls),
        };
        if step == max_steps {
            let names: Vec<&str> = calls.iter().map(|call| call.name.as_str()).collect();
            return Err((
                "tool_loop_limit".into(),
                format!(
                    "the model was still calling tools ({}) after {max_steps} model calls; the run was stopped",
                    names.join(", ")
                ),
            ));
        }
        prompt.push(ChatMessage { tool_calls: calls.clone(), ..ChatMessage::new(Role::Assistant, text) });
        for (i, call) in calls.into_iter().enumerate() {
            emitter.traced(
                progress,
                StreamEventKind::ToolCall,
                payload::tool_call(&reply.id, &call, toolbox.skill_of(&call.name)),
            );
            let started = Instant::now();
            let result = if i < MAX_CALLS_PER_STEP {
                tokio::select! {
                    result = toolbox.execute(&tools, &call) => result,
                    () = cancel.cancelled() => return Ok(()),
                }
            } else {
                // Every call gets an answer (the model's API requires one per call id), but only so many run.
                Err(ToolError::Failed(format!(
                    "not run: at most {MAX_CALLS_PER_STEP} tool calls are run per model call"
                )))
            };
            let elapsed = started.elapsed();
            if let Err(err) = &result {
                tracing::info!(tool = %call.name, code = err.code(), error = %err, "a tool call failed");
            }
            let content = match &result {
                Ok(value) => value.to_string(),
                Err(err) => err.to_json().to_string(),
            };
            let (content, cut) = truncate_chars(content, state.config.tool_result_max_chars);
            // The stream and the stored trace show what the model saw: a cut result as the cut text.
            let shown = match result {
                Ok(_) if cut => Ok(serde_json::Value::String(content.clone())),
                other => other,
            };
            emitter.traced(
                progress,
                StreamEventKind::ToolResult,
                payload::tool_result(&reply.id, &call, &shown, elapsed),
            );
            prompt.push(ChatMessage { tool_call_id: Some(call.id), ..ChatMessage::new(Role::Tool, content) });
        }
    }
    Ok(())
}

/// One model call: deltas go to the reply as they come; tool-call parts are assembled into calls.
async fn stream_step(
    resolved: &Resolved,
    request: ChatRequest,
    reply: &message::Model,
    emitter: &Emitter<'_>,
    cancel: &CancellationToken,
    progress: &mut Progress,
) -> Result<StepEnd, Failure> {
    let llm_failure = |err: LlmError| (err.code().to_owned(), err.to_string());
    progress.open_step(tokens::count_prompt(&request.messages) + tokens::count_tools(&request.tools));
    let mut chunks = tokio::select! {
        started = resolved.provider.stream(request) => started.map_err(llm_failure)?,
        () = cancel.cancelled() => return Ok(StepEnd::Done),
    };
    let mut text = String::new();
    let mut calls = ToolCallAssembler::default();
    loop {
        let chunk = tokio::select! {
            chunk = chunks.next() => chunk,
            () = cancel.cancelled() => return Ok(StepEnd::Done),
        };
        match chunk {
            None => break,
            Some(Err(err)) => return Err(llm_failure(err)),
            Some(Ok(Chunk::Delta(piece))) if !piece.is_empty() => {
                progress.content.push_str(&piece);
                progress.deltas.push(progress.content.len());
                progress.step().completion.push_str(&piece);
                text.push_str(&piece);
                emitter.emit(StreamEventKind::MessageDelta, payload::delta(&reply.id, &piece));
            }
            Some(Ok(Chunk::Delta(_))) => {}
            Some(Ok(Chunk::Usage(usage))) => progress.step().reported = Some(usage),
            Some(Ok(Chunk::Finish(reason))) => progress.finish = Some(reason),
            Some(Ok(Chunk::ToolCallDelta { index, id, name, arguments })) => {
                progress.step().completion.push_str(&arguments);
                calls.add(index, id, name, &arguments);
            }
        }
    }
    let calls = calls.finish();
    progress.close_step();
    if calls.is_empty() { Ok(StepEnd::Done) } else { Ok(StepEnd::Calls { text, calls }) }
}

/// Builds whole tool calls from streamed parts. Some servers repeat the id and name on every part (llama.cpp
/// with small models does): the first ones count and repeats are ignored; arguments are appended.
#[derive(Default)]
struct ToolCallAssembler {
    calls: std::collections::BTreeMap<u32, ToolCall>,
}

impl ToolCallAssembler {
    fn add(&mut self, index: u32, id: Option<String>, name: Option<String>, arguments: &str) {
        let call = self.calls.entry(index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if call.id.is_empty()
            && let Some(id) = id.filter(|id| !id.is_empty())
        {
            call.id = id;
        }
        if call.name.is_empty()
            && let Some(name) = name.filter(|name| !name.is_empty())
        {
            call.name = name;
        }
        call.arguments.push_str(arguments);
    }

    /// The calls in order; a call without an id gets one, so its result can answer it.
    fn finish(self) -> Vec<ToolCall> {
        self.calls
            .into_iter()
            .map(|(index, mut call)| {
                if call.id.is_empty() {
                    call.id = format!("call_{index}");
                }
                call
            })
            .collect()
    }
}

/// Cuts `text` to `max` characters, saying so; `true` when it was cut.
fn truncate_chars(text: String, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        None => (text, false),
        Some((cut, _)) => (format!("{}… (truncated: the result was longer than {max} characters)", &text[..cut]), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_ids_and_names_are_not_appended() {
        let mut calls = ToolCallAssembler::default();
        calls.add(0, Some("call_a".into()), Some("calculator".into()), "{\"expression\":");
        calls.add(0, Some("call_a".into()), Some("calculator".into()), "\"1+1\"}");
        calls.add(1, None, Some("datetime".into()), "{}");
        let calls = calls.finish();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            calls[0],
            ToolCall { id: "call_a".into(), name: "calculator".into(), arguments: "{\"expression\":\"1+1\"}".into() }
        );
        assert_eq!(calls[1].id, "call_1");
    }

    #[test]
    fn long_results_are_cut_on_a_character_boundary() {
        assert_eq!(truncate_chars("héllo".into(), 10), ("héllo".to_owned(), false));
        let (cut, was_cut) = truncate_chars("héllo".into(), 2);
        assert!(was_cut && cut.starts_with("hé…"), "{cut}");
    }
}
