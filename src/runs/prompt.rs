//! The prompt of a reply: the agent's system prompt, then as much of the conversation's history as fits the
//! model's context window after reserving room for the reply. The newest messages win; the message being
//! answered is always included.
use crate::llm::{ChatMessage, Role, tokens};
use entity::message;

/// Room kept for the reply when neither the agent nor the conversation sets `maxTokens`.
pub const DEFAULT_REPLY_RESERVE: u32 = 1024;

pub fn build(
    system_prompt: Option<&str>,
    history: &[message::Model],
    context_window: u32,
    max_tokens: Option<u32>,
) -> Vec<ChatMessage> {
    let reserve = max_tokens.unwrap_or(DEFAULT_REPLY_RESERVE).min(context_window / 2);
    let mut budget = u64::from(context_window.saturating_sub(reserve));
    let system = system_prompt.filter(|s| !s.trim().is_empty()).map(|s| ChatMessage::new(Role::System, s));
    if let Some(system) = &system {
        budget = budget.saturating_sub(tokens::count_prompt(std::slice::from_ref(system)));
    }
    let mut kept = Vec::new();
    for (i, stored) in history.iter().rev().enumerate() {
        let role = if stored.role == "user" { Role::User } else { Role::Assistant };
        if role == Role::Assistant && stored.content.is_empty() {
            continue;
        }
        let message = ChatMessage::new(role, stored.content.clone());
        let cost = tokens::count_prompt(std::slice::from_ref(&message));
        if cost > budget && i > 0 {
            break;
        }
        budget = budget.saturating_sub(cost);
        kept.push(message);
    }
    kept.reverse();
    system.into_iter().chain(kept).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: &str) -> message::Model {
        message::Model {
            id: String::new(),
            account_id: String::new(),
            conversation_id: String::new(),
            role: role.into(),
            content: content.into(),
            attachments: None,
            status: "completed".into(),
            reply_to: None,
            reply_id: None,
            model: None,
            prompt_tokens: None,
            completion_tokens: None,
            finish_reason: None,
            error: None,
            deltas: None,
            trace: None,
            created_at: chrono::Utc::now(),
            completed_at: None,
        }
    }

    #[test]
    fn keeps_the_system_prompt_and_the_newest_history_that_fits() {
        let old = "word ".repeat(100);
        let history = vec![msg("user", &old), msg("assistant", &old), msg("user", "latest question")];
        let prompt = build(Some("Be helpful."), &history, 200, Some(40));
        assert_eq!(prompt.first().map(|m| m.role), Some(Role::System));
        assert_eq!(prompt.last().map(|m| m.content.as_str()), Some("latest question"));
        assert!(prompt.len() < 4, "the oldest messages were trimmed: {prompt:?}");
        let everything = build(None, &history, 100_000, None);
        assert_eq!(everything.len(), 3);
    }
}
