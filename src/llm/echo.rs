//! `echo`: the built-in development model. It is not a language model: it answers every prompt with a
//! deterministic reply built from the last user message, streamed token by token at a configurable pace, and
//! reports honest token counts (by [`super::tokens`], the same unit it streams). It lets `cargo run` work offline
//! and makes streaming testable without a vendor.
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;

use super::{ChatRequest, Chunk, ChunkStream, FinishReason, LlmError, LlmProvider, Role, Usage, tokens};

pub struct EchoProvider {
    name: String,
    token_delay: Duration,
}

impl EchoProvider {
    pub fn new(name: &str, token_delay: Duration) -> Self {
        Self { name: name.to_owned(), token_delay }
    }

    /// The reply to a prompt: `Echo: <last user message>` (or a notice when there is none).
    pub fn reply_text(request: &ChatRequest) -> String {
        match request.messages.iter().rev().find(|m| m.role == Role::User) {
            Some(message) => format!("Echo: {}", message.content),
            None => "Echo: (no user message)".to_owned(),
        }
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

    async fn stream(&self, request: ChatRequest) -> Result<ChunkStream, LlmError> {
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
        };
        let chunks: Vec<_> = provider.stream(request).await.expect("stream").collect().await;
        let chunks: Vec<Chunk> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
        assert_eq!(chunks[0], Chunk::Delta("Echo".into()));
        assert_eq!(chunks[1], Chunk::Delta(":".into()));
        assert_eq!(chunks[2], Chunk::Usage(Usage { prompt_tokens: 4 + 3 + 4 + 2, completion_tokens: 2 }));
        assert_eq!(chunks[3], Chunk::Finish(FinishReason::Length));
    }
}
