//! GraphQL input types and their conversion into service requests.
pub mod agent;
pub mod conversation;
pub mod memory;
pub mod skill;
pub mod task;
pub mod token;
pub mod webhook;

pub use agent::{CreateAgentInput, UpdateAgentInput};
pub use conversation::{CreateConversationInput, SendMessageInput};
pub use skill::{InstallSkillInput, RegisterSkillInput, UpdateInstalledSkillInput};
pub use task::CreateTaskInput;
pub use token::CreateAccessTokenInput;
pub use webhook::{CreateWebhookInput, RotateWebhookSecretInput, UpdateWebhookInput};
