//! Query root, merged from one piece per resource.
mod agents;
mod conversations;
mod skills;
mod viewer;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(agents::AgentQuery, skills::SkillQuery, viewer::ViewerQuery, conversations::ConversationQuery);
