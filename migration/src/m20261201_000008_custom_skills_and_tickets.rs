//! Custom skills (an account's own HTTP skills, private to it: `account_id` set, with the endpoint they are
//! invoked at, the secret that signs invocations and the JSON Schema of their arguments) and the tickets the
//! built-in `ticket-system` skill creates.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_null(Skills::AccountId),
            string_null(Skills::EndpointUrl),
            string_null(Skills::Secret),
            json_null(Skills::Parameters),
        ] {
            manager.alter_table(Table::alter().table(Skills::Table).add_column(column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create().name("idx_skills_account").table(Skills::Table).col(Skills::AccountId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(string(Tickets::Id).primary_key())
                    .col(string(Tickets::AccountId))
                    .col(string_null(Tickets::AgentId))
                    .col(string_null(Tickets::ConversationId))
                    .col(string_null(Tickets::Project))
                    .col(string(Tickets::Title))
                    .col(text(Tickets::Description))
                    .col(string(Tickets::Priority))
                    .col(string(Tickets::Status))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_account")
                    .table(Tickets::Table)
                    .col(Tickets::AccountId)
                    .col(Tickets::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Tickets::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_skills_account").table(Skills::Table).to_owned()).await?;
        for column in [Skills::AccountId, Skills::EndpointUrl, Skills::Secret, Skills::Parameters] {
            manager.alter_table(Table::alter().table(Skills::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Skills {
    Table,
    AccountId,
    EndpointUrl,
    Secret,
    Parameters,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    AccountId,
    AgentId,
    ConversationId,
    Project,
    Title,
    Description,
    Priority,
    Status,
    CreatedAt,
    UpdatedAt,
}
