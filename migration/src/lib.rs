//! Schema migrations, run on server start and by `openclaw migrate`.
pub use sea_orm_migration::prelude::*;

mod fulltext;
mod m20261125_000001_create_core_tables;
mod m20261125_000002_seed_skill_catalog;
mod m20261125_000003_conversations;
mod m20261125_000004_webhooks_tasks;
mod m20261201_000005_usage_daily;
mod m20261201_000006_tools_and_memories;
mod m20261201_000007_knowledge;
mod m20261201_000008_custom_skills_and_tickets;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_core_tables::Migration),
            Box::new(m20261125_000002_seed_skill_catalog::Migration),
            Box::new(m20261125_000003_conversations::Migration),
            Box::new(m20261125_000004_webhooks_tasks::Migration),
            Box::new(m20261201_000005_usage_daily::Migration),
            Box::new(m20261201_000006_tools_and_memories::Migration),
            Box::new(m20261201_000007_knowledge::Migration),
            Box::new(m20261201_000008_custom_skills_and_tickets::Migration),
        ]
    }
}
