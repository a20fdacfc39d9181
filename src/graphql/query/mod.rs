//! Query root, merged from one piece per resource.
mod agents;
mod conversations;
mod files;
mod memories;
mod skills;
mod tasks;
mod tickets;
mod usage;
mod viewer;
mod webhooks;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    agents::AgentQuery,
    skills::SkillQuery,
    viewer::ViewerQuery,
    conversations::ConversationQuery,
    webhooks::WebhookQuery,
    tasks::TaskQuery,
    usage::UsageQuery,
    files::FileQuery,
    memories::MemoryQuery,
    tickets::TicketQuery,
);
