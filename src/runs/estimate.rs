//! What a reply is expected to cost, for the token quota's reservation (see `limits::quota`): the new message and
//! the system prompt, counted, plus the most the reply may generate (`maxTokens`, or the default reserve).
use crate::{app::AppState, error::AppResult, llm::tokens, services::agents};
use entity::conversation;

pub async fn reply_tokens(state: &AppState, conversation: &conversation::Model, content: &str) -> AppResult<u64> {
    let agent = agents::get(&state.db, &conversation.account_id, &conversation.agent_id).await?;
    let max_tokens = conversation
        .max_tokens
        .or(agent.max_tokens)
        .and_then(|m| u64::try_from(m).ok())
        .unwrap_or(u64::from(super::prompt::DEFAULT_REPLY_RESERVE));
    let system = agent.system_prompt.as_deref().map_or(0, tokens::count);
    Ok(tokens::count(content).saturating_add(system).saturating_add(max_tokens))
}
