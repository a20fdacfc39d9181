//! GraphQL output types. Each wraps an entity model; fields are shaped as the SPEC's JSON.
pub mod agent;
pub mod common;
pub mod conversation;
pub mod file;
pub mod memory;
pub mod skill;
pub mod task;
pub mod ticket;
pub mod usage;
pub mod webhook;

pub use agent::{Agent, AgentPage, InstalledSkill};
pub use common::{AccessToken, Deleted, Pagination, Viewer};
pub use conversation::{
    Conversation, ConversationPage, DomainEvent, Message, MessagePage, SendMessagePayload, StreamEvent, WhileBusy,
};
pub use skill::{Skill, SkillPage};
pub use task::{Task, TaskPage};
pub use webhook::{Delivery, DeliveryPage, EventPage, Webhook, WebhookPage};
