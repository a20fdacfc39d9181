//! Accounts, API keys, agents, the skills catalog and installed skills.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(string(Accounts::Id).primary_key())
                    .col(string_uniq(Accounts::Name))
                    .col(string(Accounts::Plan))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(string(ApiKeys::Id).primary_key())
                    .col(string(ApiKeys::AccountId))
                    .col(string_null(ApiKeys::Name))
                    .col(string(ApiKeys::Prefix))
                    .col(string_uniq(ApiKeys::SecretHash))
                    .col(json(ApiKeys::Scopes))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(string(Agents::Id).primary_key())
                    .col(string(Agents::AccountId))
                    .col(string(Agents::Name))
                    .col(text_null(Agents::Description))
                    .col(string(Agents::ModelProvider))
                    .col(string(Agents::ModelName))
                    .col(double_null(Agents::Temperature))
                    .col(integer_null(Agents::MaxTokens))
                    .col(text_null(Agents::SystemPrompt))
                    .col(boolean(Agents::MemoryEnabled))
                    .col(string(Agents::MemoryType))
                    .col(string(Agents::MemoryRetention))
                    .col(timestamp_with_time_zone(Agents::CreatedAt))
                    .col(timestamp_with_time_zone(Agents::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Agents::Table, Agents::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Tenant-scoped listing walks (account_id, id): ids are time-ordered UUIDv7.
        manager
            .create_index(
                Index::create()
                    .name("idx_agents_account_id")
                    .table(Agents::Table)
                    .col(Agents::AccountId)
                    .col(Agents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Skills::Table)
                    .col(string(Skills::Id).primary_key())
                    .col(string(Skills::Name))
                    .col(string(Skills::Version))
                    .col(string(Skills::Category))
                    .col(text(Skills::Description))
                    .col(string(Skills::Author))
                    .col(big_integer(Skills::Downloads))
                    .col(double(Skills::Rating))
                    .col(timestamp_with_time_zone(Skills::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_skills_category").table(Skills::Table).col(Skills::Category).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SkillVersions::Table)
                    .col(string(SkillVersions::SkillId))
                    .col(string(SkillVersions::Version))
                    .col(json(SkillVersions::ConfigSchema))
                    .col(timestamp_with_time_zone(SkillVersions::ReleasedAt))
                    .primary_key(Index::create().col(SkillVersions::SkillId).col(SkillVersions::Version))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SkillVersions::Table, SkillVersions::SkillId)
                            .to(Skills::Table, Skills::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgentSkills::Table)
                    .col(string(AgentSkills::AgentId))
                    .col(string(AgentSkills::SkillId))
                    .col(string(AgentSkills::AccountId))
                    .col(string(AgentSkills::Version))
                    .col(boolean(AgentSkills::Enabled))
                    .col(json(AgentSkills::Config))
                    .col(timestamp_with_time_zone(AgentSkills::InstalledAt))
                    .primary_key(Index::create().col(AgentSkills::AgentId).col(AgentSkills::SkillId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AgentSkills::Table, AgentSkills::AgentId)
                            .to(Agents::Table, Agents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AgentSkills::Table, AgentSkills::SkillId)
                            .to(Skills::Table, Skills::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AgentSkills::Table.into_iden(),
            SkillVersions::Table.into_iden(),
            Skills::Table.into_iden(),
            Agents::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Name,
    Plan,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    AccountId,
    Name,
    Prefix,
    SecretHash,
    Scopes,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    AccountId,
    Name,
    Description,
    ModelProvider,
    ModelName,
    Temperature,
    MaxTokens,
    SystemPrompt,
    MemoryEnabled,
    MemoryType,
    MemoryRetention,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Skills {
    Table,
    Id,
    Name,
    Version,
    Category,
    Description,
    Author,
    Downloads,
    Rating,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum SkillVersions {
    Table,
    SkillId,
    Version,
    ConfigSchema,
    ReleasedAt,
}

#[derive(DeriveIden)]
enum AgentSkills {
    Table,
    AgentId,
    SkillId,
    AccountId,
    Version,
    Enabled,
    Config,
    InstalledAt,
}
