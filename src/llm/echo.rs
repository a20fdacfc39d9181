//! `echo`: the built-in development model. It is not a language model: it answers every prompt with a
//! deterministic reply built from the last user message, streamed token by token at a configurable pace, and
//! reports honest token counts (by [`super::tokens`], the same unit it streams). It lets `cargo run` work offline
//! and makes streaming testable without a vendor.
//!
//! It calls tools deterministically, so the whole tool loop runs offline. In the user's message:
//! - a line `/tool NAME ARGS` makes the first answer a call of tool `NAME` with `ARGS` (the rest of the line, sent
//!   as is, so malformed JSON can be tested; empty means `{}`). Several such lines make several calls at once.
//! - a line `/loop NAME ARGS` calls the tool again after every result: a model that never stops calling tools.
//!
//! Once results are back it answers `Echo: <message>` followed by one line `[NAME] RESULT` per tool result.
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;

use super::{ChatRequest, Chunk, ChunkStream, FinishReason, LlmError, LlmProvider, Role, ToolCall, Usage, tokens};

pub struct EchoProvider {
    name: String,
    token_delay: Duration,
}

impl EchoProvider {
    pub fn new(name: &str, token_delay: Duration) -> Self {
        Self { name: name.to_owned(), token_delay }
    }

    /// The reply to a prompt: `Echo: <last user message>` (or a notice when there is none), then the tool
    /// results given since that message.
    pub fn reply_text(request: &ChatRequest) -> String {
        let last_user = request.messages.iter().rposition(|m| m.role == Role::User);
        let mut text = match last_user {
            Some(i) => format!("Echo: {}", request.messages[i].content),
            None => "Echo: (no user message)".to_owned(),
        };
        for image in last_user.into_iter().flat_map(|i| &request.messages[i].images) {
            text.push_str(&format!("\n[image {} {} bytes]", image.media_type, image.data.len()));
        }
        let since = &request.messages[last_user.map_or(0, |i| i + 1)..];
        for result in since.iter().filter(|m| m.role == Role::Tool) {
            let name = since
                .iter()
                .flat_map(|m| &m.tool_calls)
                .find(|call| Some(&call.id) == result.tool_call_id.as_ref())
                .map_or("?", |call| call.name.as_str());
            text.push_str(&format!("\n[{name}] {}", result.content));
        }
        text
    }

    /// The tool calls the prompt asks for (see the module docs), numbered by the model call they are made in.
    pub fn tool_calls(request: &ChatRequest) -> Vec<ToolCall> {
        let Some(last_user) = request.messages.iter().rposition(|m| m.role == Role::User) else { return vec![] };
        let since = &request.messages[last_user + 1..];
        let step = since.iter().filter(|m| !m.tool_calls.is_empty()).count() + 1;
        let answered = since.iter().any(|m| m.role == Role::Tool);
        request.messages[last_user]
            .content
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                let (forever, rest) = match (line.strip_prefix("/tool "), line.strip_prefix("/loop ")) {
                    (Some(rest), _) => (false, rest),
                    (_, Some(rest)) => (true, rest),
                    _ => return None,
                };
                let (name, arguments) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
                (forever || !answered).then(|| (name.to_owned(), arguments.trim().to_owned()))
            })
            .enumerate()
            .map(|(i, (name, arguments))| ToolCall {
                id: format!("call_{step}_{i}"),
                arguments: if arguments.is_empty() { "{}".to_owned() } else { arguments },
                name,
            })
            .collect()
    }
}

#[async_trait]
impl LlmProvider for EchoProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn context_window(&self) -> u32 {
        32_768
    }

    /// Echo "sees" images: it describes each one (type and size) in its reply.
    fn accepts_images(&self) -> bool {
        true
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChunkStream, LlmError> {
        let calls = Self::tool_calls(&request);
        if !calls.is_empty() {
            return Ok(Self::call_tools(&request, calls, self.token_delay));
        }
        let text = Self::reply_text(&request);
        let limit = request.max_tokens.map_or(usize::MAX, |n| n as usize);
        let all: Vec<String> = tokens::split(&text).into_iter().map(str::to_owned).collect();
        let truncated = all.len() > limit;
        let pieces: Vec<String> = all.into_iter().take(limit).collect();
        let usage =
            Usage { prompt_tokens: tokens::count_prompt(&request.messages), completion_tokens: pieces.len() as u64 };
        let delay = self.token_delay;
        let stream = async_stream::stream! {
            for piece in pieces {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                yield Ok(Chunk::Delta(piece));
            }
            yield Ok(Chunk::Usage(usage));
            yield Ok(Chunk::Finish(if truncated { FinishReason::Length } else { FinishReason::Stop }));
        };
        Ok(stream.boxed())
    }
}

impl EchoProvider {
    /// Streams tool calls the way OpenAI does: id and name first, then the arguments in two parts.
    fn call_tools(request: &ChatRequest, calls: Vec<ToolCall>, delay: Duration) -> ChunkStream {
        let completion: u64 = calls.iter().map(|c| tokens::count(&c.name) + tokens::count(&c.arguments)).sum();
        let usage = Usage { prompt_tokens: tokens::count_prompt(&request.messages), completion_tokens: completion };
        let stream = async_stream::stream! {
            for (index, call) in calls.into_iter().enumerate() {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let index = index as u32;
                yield Ok(Chunk::ToolCallDelta { index, id: Some(call.id), name: Some(call.name), arguments: String::new() });
                let cut = call.arguments.char_indices().nth(call.arguments.chars().count() / 2).map_or(0, |(i, _)| i);
                for part in [&call.arguments[..cut], &call.arguments[cut..]] {
                    yield Ok(Chunk::ToolCallDelta { index, id: None, name: None, arguments: part.to_owned() });
                }
            }
            yield Ok(Chunk::Usage(usage));
            yield Ok(Chunk::Finish(FinishReason::ToolCalls));
        };
        stream.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ChatMessage;

    #[tokio::test]
    async fn streams_the_reply_with_honest_usage() {
        let provider = EchoProvider::new("echo", Duration::ZERO);
        let request = ChatRequest {
            model: "echo".into(),
            messages: vec![ChatMessage::new(Role::System, "Be brief."), ChatMessage::new(Role::User, "Hello there")],
            temperature: None,
            max_tokens: Some(2),
            tools: vec![],
            tool_choice: None,
        };
        let chunks: Vec<_> = provider.stream(request).await.expect("stream").collect().await;
        let chunks: Vec<Chunk> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
        assert_eq!(chunks[0], Chunk::Delta("Echo".into()));
        assert_eq!(chunks[1], Chunk::Delta(":".into()));
        assert_eq!(chunks[2], Chunk::Usage(Usage { prompt_tokens: 4 + 3 + 4 + 2, completion_tokens: 2 }));
        assert_eq!(chunks[3], Chunk::Finish(FinishReason::Length));
    }
}
