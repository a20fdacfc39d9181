//! DataLoaders, one per relation, created per request (their caches must not outlive it or cross tenants).
mod installed_skills;

pub use installed_skills::{
    AgentId, InstalledSkillsLoader, installed_skills_loader, load_installed_skills, prime_installed_skills,
};
