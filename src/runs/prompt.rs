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

/// Tokens a prompt may take in `context_window` after reserving room for the reply.
pub fn budget(context_window: u32, max_tokens: Option<u32>) -> u64 {
    let reserve = max_tokens.unwrap_or(DEFAULT_REPLY_RESERVE).min(context_window / 2);
    u64::from(context_window.saturating_sub(reserve))
}

/// Shortest a tool result is cut to when the prompt must shrink.
const MIN_TOOL_RESULT_CHARS: usize = 200;

/// Makes a prompt that grew during a run (tool calls and results) fit `budget` tokens again: first the oldest
/// history before the message being answered (`answered`, its index) goes, then the longest tool results are
/// halved, down to [`MIN_TOOL_RESULT_CHARS`]. System messages and the message being answered always stay. Returns
/// whether the prompt fits.
pub fn fit(prompt: &mut Vec<ChatMessage>, answered: &mut usize, budget: u64) -> bool {
    let mut size = tokens::count_prompt(prompt);
    while size > budget {
        let Some(oldest) = prompt[..*answered].iter().position(|m| m.role != Role::System) else { break };
        let removed = prompt.remove(oldest);
        size = size.saturating_sub(tokens::count_prompt(std::slice::from_ref(&removed)));
        *answered -= 1;
    }
    while size > budget {
        let longest = prompt
            .iter_mut()
            .skip(*answered)
            .filter(|m| m.role == Role::Tool && m.content.chars().count() > MIN_TOOL_RESULT_CHARS)
            .max_by_key(|m| m.content.len());
        let Some(message) = longest else { return false };
        let before = tokens::count(&message.content);
        let keep = (message.content.chars().count() / 2).max(MIN_TOOL_RESULT_CHARS);
        let cut = message.content.char_indices().nth(keep).map_or(message.content.len(), |(i, _)| i);
        message.content = format!("{}… (cut to fit the context window)", &message.content[..cut]);
        size = size.saturating_sub(before).saturating_add(tokens::count(&message.content));
    }
    true
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
    fn a_grown_prompt_sheds_old_history_then_halves_tool_results() {
        let mut prompt = vec![
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "word ".repeat(50)),
            ChatMessage::new(Role::Assistant, "word ".repeat(50)),
            ChatMessage::new(Role::User, "the question"),
            ChatMessage::new(Role::Tool, "result ".repeat(400)),
        ];
        let mut answered = 3;
        assert!(fit(&mut prompt, &mut answered, 300));
        assert_eq!(answered, 1, "the old exchange went first");
        assert_eq!(prompt[0].role, Role::System);
        assert_eq!(prompt[1].content, "the question");
        assert!(prompt[2].content.ends_with("(cut to fit the context window)"));
        assert!(tokens::count_prompt(&prompt) <= 300);
        // What cannot shrink is reported.
        let mut stuck = vec![ChatMessage::new(Role::User, "word ".repeat(500))];
        let mut answered = 0;
        assert!(!fit(&mut stuck, &mut answered, 10));
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
