//! What skills need: a reply's trace of tool calls and recalls (so a finished reply's stream replays them), and
//! memories with a full-text index (SQLite FTS5 kept by triggers; a generated `tsvector` with a GIN index on
//! PostgreSQL).
use sea_orm_migration::{prelude::*, schema::*};

use crate::fulltext::FullTextIndex;

const INDEX: FullTextIndex = FullTextIndex { table: "memories", key: "memory_id" };

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Messages::Table).add_column(json_null(Messages::Trace)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Memories::Table)
                    .col(string(Memories::Id).primary_key())
                    .col(string(Memories::AccountId))
                    .col(string(Memories::AgentId))
                    .col(string_null(Memories::UserId))
                    .col(text(Memories::Content))
                    .col(string(Memories::Kind))
                    .col(json(Memories::Metadata))
                    .col(string_null(Memories::ConversationId))
                    .col(string_null(Memories::MessageId))
                    .col(json_null(Memories::Embedding))
                    .col(timestamp_with_time_zone(Memories::CreatedAt))
                    .col(timestamp_with_time_zone(Memories::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Memories::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memories_scope")
                    .table(Memories::Table)
                    .col(Memories::AccountId)
                    .col(Memories::AgentId)
                    .col(Memories::UserId)
                    .col(Memories::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memories_expires_at")
                    .table(Memories::Table)
                    .col(Memories::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        INDEX.create(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        INDEX.drop(manager).await?;
        manager.drop_table(Table::drop().table(Memories::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Messages::Table).drop_column(Messages::Trace).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Trace,
}

#[derive(DeriveIden)]
enum Memories {
    Table,
    Id,
    AccountId,
    AgentId,
    UserId,
    Content,
    Kind,
    Metadata,
    ConversationId,
    MessageId,
    Embedding,
    CreatedAt,
    UpdatedAt,
    ExpiresAt,
}
