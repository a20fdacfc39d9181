//! Token usage per account per UTC day, for `/v2/usage`'s daily breakdown (the monthly totals stay in
//! `usage_monthly`, which quotas read).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UsageDaily::Table)
                    .col(string(UsageDaily::AccountId))
                    .col(string(UsageDaily::Day))
                    .col(big_integer(UsageDaily::PromptTokens))
                    .col(big_integer(UsageDaily::CompletionTokens))
                    .col(big_integer(UsageDaily::ModelCalls))
                    .col(timestamp_with_time_zone(UsageDaily::UpdatedAt))
                    .primary_key(Index::create().col(UsageDaily::AccountId).col(UsageDaily::Day))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UsageDaily::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum UsageDaily {
    Table,
    AccountId,
    Day,
    PromptTokens,
    CompletionTokens,
    ModelCalls,
    UpdatedAt,
}
