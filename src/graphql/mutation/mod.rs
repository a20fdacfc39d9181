//! Mutation root, merged from one piece per resource.
mod agents;
mod conversations;
mod skills;
mod tokens;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    agents::AgentMutation,
    skills::SkillMutation,
    tokens::TokenMutation,
    conversations::ConversationMutation,
);
