//! Mutation root, merged from one piece per resource.
mod admin;
mod agents;
mod conversations;
mod files;
mod memories;
mod skills;
mod tasks;
mod tickets;
mod tokens;
mod webhooks;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    agents::AgentMutation,
    skills::SkillMutation,
    tokens::TokenMutation,
    conversations::ConversationMutation,
    webhooks::WebhookMutation,
    tasks::TaskMutation,
    admin::AdminMutation,
    files::FileMutation,
    memories::MemoryMutation,
    tickets::TicketMutation,
);
