//! What a reply is expected to cost, for the token quota's reservation (see `limits::quota`): its prompt — the
//! system prompt, the history and the new message, at most what the model's context window takes — plus the most
//! the reply may generate (`maxTokens`, or the default reserve).
use crate::{
    app::AppState,
    error::AppResult,
    llm::tokens,
    services::{agents, conversations, messages},
};
use entity::conversation;

/// Messages of history counted, like the run's own (see `runner`).
const HISTORY_LIMIT: u64 = 200;

pub async fn reply_tokens(state: &AppState, conversation: &conversation::Model, content: &str) -> AppResult<u64> {
    let agent = agents::get(&state.db, &conversation.account_id, &conversation.agent_id).await?;
    let max_tokens = conversation
        .max_tokens
        .or(agent.max_tokens)
        .and_then(|m| u64::try_from(m).ok())
        .unwrap_or(u64::from(super::prompt::DEFAULT_REPLY_RESERVE));
    let model = conversations::model_override(conversation).unwrap_or_else(|| agents::model_ref(&agent));
    let window = state.llm.resolve(&model).map(|resolved| u64::from(resolved.provider.context_window()))?;
    // Every id is below "~" (they are `msg-` and lowercase hex): the whole conversation so far.
    let history = messages::history(&state.db, &conversation.id, "~", HISTORY_LIMIT).await?;
    let history: u64 = history.iter().map(|m| tokens::count(&m.content)).sum();
    let system = agent.system_prompt.as_deref().map_or(0, tokens::count);
    let prompt = tokens::count(content).saturating_add(system).saturating_add(history).min(window);
    Ok(prompt.saturating_add(max_tokens))
}
