//! GraphQL input types and their conversion into service requests.
pub mod agent;
pub mod conversation;
pub mod skill;
pub mod token;

pub use agent::{CreateAgentInput, UpdateAgentInput};
pub use conversation::{CreateConversationInput, SendMessageInput};
pub use skill::{InstallSkillInput, UpdateInstalledSkillInput};
pub use token::CreateAccessTokenInput;
