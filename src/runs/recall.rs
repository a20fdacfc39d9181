//! Memory recall: before an agent with memory enabled answers, the memories most relevant to the user's message
//! (that user's and the agent's shared ones) go into the prompt, and a `memory.recalled` event shows which.
use serde_json::{Value, json};

use crate::{
    app::AppState,
    error::AppResult,
    graphql::scalars::format_time,
    llm::{ChatMessage, Role, tokens},
    services::memories::{self, Scored, Search, Users},
};
use entity::{agent, conversation};

/// What one recall found: the system message for the prompt and the event's data.
pub struct Recalled {
    pub message: ChatMessage,
    pub event: Value,
}

/// Searches the agent's memories with the words of `question`. `None` when memory is off or nothing matched.
/// The recalled text is kept within `token_budget`.
pub async fn recall(
    state: &AppState,
    agent: &agent::Model,
    conversation: &conversation::Model,
    reply_id: &str,
    question: &str,
    token_budget: u64,
) -> AppResult<Option<Recalled>> {
    if !agent.memory_enabled {
        return Ok(None);
    }
    let terms = memories::query_terms(question);
    if terms.is_empty() {
        return Ok(None);
    }
    let users = Users::WithShared(conversation.user_id.as_deref());
    let limit = state.config.memory_recall_limit;
    let embedder = state.embedder.as_deref();
    let search = Search {
        account_id: &agent.account_id,
        agent_id: &agent.id,
        users,
        query: question,
        limit: limit * 2,
        min_similarity: state.config.memory_recall_min_similarity,
    };
    let mut hits = memories::search(&state.db, embedder, &search).await?;
    hits.retain(|hit| memories::usable_in(&hit.memory, &conversation.id));
    hits.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut text = String::from(
        "Things you remember from earlier conversations (use them when relevant; do not mention this list):",
    );
    let mut used = Vec::new();
    for hit in hits {
        let line = format!(
            "\n- {} ({}, saved {})",
            hit.memory.content,
            hit.memory.kind,
            hit.memory.created_at.format("%Y-%m-%d")
        );
        if tokens::count(&text) + tokens::count(&line) > token_budget {
            break;
        }
        text.push_str(&line);
        used.push(hit);
    }
    if used.is_empty() {
        return Ok(None);
    }
    let event = json!({ "messageId": reply_id, "query": terms.join(" "), "memories": used.iter().map(shown).collect::<Vec<_>>() });
    Ok(Some(Recalled { message: ChatMessage::new(Role::System, text), event }))
}

fn shown(hit: &Scored) -> Value {
    let m = &hit.memory;
    json!({ "id": m.id, "content": m.content, "type": m.kind, "userId": m.user_id, "score": hit.score,
            "conversationId": m.conversation_id, "createdAt": format_time(m.created_at) })
}
