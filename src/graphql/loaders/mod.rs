//! DataLoaders, one per relation, created per request (their caches must not outlive it or cross tenants).
mod installed_skills;

pub use installed_skills::{AgentId, InstalledSkillsLoader};
