//! Turning an accepted response into [`Chunk`]s: the SSE body of a streamed completion (with the first-token and
//! idle timeouts applied to the raw bytes, so SSE comments some servers send as keep-alives count as life), or
//! the JSON body of a non-streamed one.
//!
//! `Finish` is held back and always yielded last, after any usage chunk: OpenAI sends the finish reason before
//! the usage, and a consumer that stops at `Finish` would otherwise lose the token counts.
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::wire::{self, Completion, StreamChunk, ToolCallDelta};
use crate::llm::{Chunk, ChunkStream, FinishReason, LlmError};

/// Why the byte stream stopped early.
#[derive(Debug)]
enum BodyError {
    Timeout(String),
    Transport(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout(message) | Self::Transport(message) => f.write_str(message),
        }
    }
}

/// The response body with a deadline on the first bytes and an idle limit between later ones.
fn timed_body(
    response: reqwest::Response,
    first_deadline: Instant,
    idle: Duration,
) -> impl Stream<Item = Result<impl AsRef<[u8]>, BodyError>> {
    let state = (response.bytes_stream().boxed(), Some(first_deadline));
    futures_util::stream::unfold(state, move |(mut body, first)| async move {
        let deadline = first.unwrap_or_else(|| Instant::now() + idle);
        let item = match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(None) => return None,
            Ok(Some(Ok(bytes))) => Ok(bytes),
            Ok(Some(Err(error))) => Err(BodyError::Transport(super::error_chain(&error))),
            Err(_) if first.is_some() => Err(BodyError::Timeout("no first token in time".into())),
            Err(_) => Err(BodyError::Timeout(format!("no data for {} ms", idle.as_millis()))),
        };
        // Once anything arrived (even an error, after which the consumer stops) the idle limit applies.
        let next = if item.is_ok() { None } else { first };
        Some((item, (body, next)))
    })
}

/// Decodes a streamed completion. Ends at `[DONE]`; at EOF it ends normally only if a finish reason was seen.
pub(super) fn sse(response: reqwest::Response, first_deadline: Instant, idle: Duration) -> ChunkStream {
    let mut events = timed_body(response, first_deadline, idle).eventsource().boxed();
    let stream = async_stream::stream! {
        let mut decoder = Decoder::default();
        loop {
            let event = match events.next().await {
                Some(Ok(event)) => event,
                // The reply was complete; a server that then hangs or drops the connection lost nothing.
                Some(Err(EventStreamError::Transport(_))) if decoder.finish.is_some() => break,
                Some(Err(EventStreamError::Transport(BodyError::Timeout(message)))) => {
                    yield Err(LlmError::Timeout(message));
                    return;
                }
                Some(Err(EventStreamError::Transport(BodyError::Transport(message)))) => {
                    tracing::debug!(error = %message, "model stream broke before the reply finished");
                    yield Err(LlmError::Incomplete);
                    return;
                }
                Some(Err(error)) => {
                    yield Err(LlmError::Upstream(format!("malformed event stream: {error}")));
                    return;
                }
                None if decoder.finish.is_none() => {
                    yield Err(LlmError::Incomplete);
                    return;
                }
                None => break,
            };
            let data = event.data.trim();
            if data == "[DONE]" {
                break;
            }
            if data.is_empty() {
                continue;
            }
            match decoder.decode(data) {
                Ok(chunks) => {
                    for chunk in chunks {
                        yield Ok(chunk);
                    }
                }
                Err(error) => {
                    yield Err(error);
                    return;
                }
            }
        }
        if let Some(reason) = decoder.finish {
            yield Ok(Chunk::Finish(reason));
        }
    };
    stream.boxed()
}

/// The state a streamed completion needs across events.
#[derive(Default)]
struct Decoder {
    finish: Option<FinishReason>,
    /// For servers that omit `index` on tool-call deltas: the index given to the latest call, and how many exist.
    last_call: Option<u32>,
    calls: u32,
}

impl Decoder {
    fn decode(&mut self, data: &str) -> Result<Vec<Chunk>, LlmError> {
        let chunk: StreamChunk = serde_json::from_str(data).map_err(|error| {
            LlmError::Upstream(format!("malformed stream chunk ({error}): {}", super::truncate(data)))
        })?;
        if let Some(error) = &chunk.error {
            let message = wire::error_message(&serde_json::json!({ "error": error }));
            return Err(LlmError::Upstream(super::truncate(&message.unwrap_or_else(|| error.to_string()))));
        }
        let mut out = Vec::new();
        if let Some(choice) = chunk.choices.as_ref().and_then(|choices| choices.first()) {
            if let Some(delta) = &choice.delta {
                if let Some(content) = delta.content.as_ref().filter(|content| !content.is_empty()) {
                    out.push(Chunk::Delta(content.clone()));
                }
                for call in delta.tool_calls.iter().flatten() {
                    out.push(self.tool_call(call));
                }
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish = Some(wire::finish_reason(reason));
            }
        }
        if let Some(usage) = &chunk.usage {
            out.push(Chunk::Usage(usage.into()));
        }
        Ok(out)
    }

    fn tool_call(&mut self, call: &ToolCallDelta) -> Chunk {
        let index = match (call.index, &call.id, self.last_call) {
            (Some(index), _, _) => index,
            (None, None, Some(last)) => last,
            (None, _, _) => self.calls,
        };
        self.last_call = Some(index);
        self.calls = self.calls.max(index + 1);
        let function = call.function.as_ref();
        Chunk::ToolCallDelta {
            index,
            id: call.id.clone(),
            name: function.and_then(|f| f.name.clone()),
            arguments: function.map(|f| f.arguments_text()).unwrap_or_default(),
        }
    }
}

/// Decodes a whole (non-streamed) completion into the chunks a stream would have produced.
pub(super) fn completion(body: &[u8]) -> Result<Vec<Chunk>, LlmError> {
    let completion: Completion = serde_json::from_slice(body).map_err(|error| {
        LlmError::Upstream(format!(
            "malformed completion ({error}): {}",
            super::truncate(&String::from_utf8_lossy(body))
        ))
    })?;
    if let Some(error) = &completion.error {
        let message = wire::error_message(&serde_json::json!({ "error": error }));
        return Err(LlmError::Upstream(super::truncate(&message.unwrap_or_else(|| error.to_string()))));
    }
    let choice = completion
        .choices
        .as_ref()
        .and_then(|choices| choices.first())
        .ok_or_else(|| LlmError::Upstream("the completion has no choices".into()))?;
    let mut out = Vec::new();
    if let Some(message) = &choice.message {
        if let Some(content) = message.content.as_ref().filter(|content| !content.is_empty()) {
            out.push(Chunk::Delta(content.clone()));
        }
        let mut decoder = Decoder::default();
        for call in message.tool_calls.iter().flatten() {
            out.push(decoder.tool_call(call));
        }
    }
    if let Some(usage) = &completion.usage {
        out.push(Chunk::Usage(usage.into()));
    }
    out.push(Chunk::Finish(choice.finish_reason.as_deref().map_or(FinishReason::Stop, wire::finish_reason)));
    Ok(out)
}
