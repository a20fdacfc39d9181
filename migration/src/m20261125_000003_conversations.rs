//! Conversations, messages, the event log, idempotency keys and monthly token usage.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(string(Conversations::Id).primary_key())
                    .col(string(Conversations::AccountId))
                    .col(string(Conversations::AgentId))
                    .col(string_null(Conversations::UserId))
                    .col(json(Conversations::Metadata))
                    .col(string_null(Conversations::ModelProvider))
                    .col(string_null(Conversations::ModelName))
                    .col(double_null(Conversations::Temperature))
                    .col(integer_null(Conversations::MaxTokens))
                    .col(string(Conversations::Status))
                    // The reply being generated right now: set atomically to claim the conversation, so a second
                    // message is refused (409) or queued instead of racing.
                    .col(string_null(Conversations::ActiveReplyId))
                    .col(timestamp_with_time_zone(Conversations::CreatedAt))
                    .col(timestamp_with_time_zone(Conversations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Conversations::Table, Conversations::AgentId)
                            .to(Agents::Table, Agents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_conversations_account_id", Conversations::Id),
            ("idx_conversations_account_agent", Conversations::AgentId),
            ("idx_conversations_account_user", Conversations::UserId),
        ] {
            let mut index =
                Index::create().name(name).table(Conversations::Table).col(Conversations::AccountId).to_owned();
            if !matches!(column, Conversations::Id) {
                index.col(column);
            }
            index.col(Conversations::Id);
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(string(Messages::Id).primary_key())
                    .col(string(Messages::AccountId))
                    .col(string(Messages::ConversationId))
                    .col(string(Messages::Role))
                    .col(text(Messages::Content))
                    .col(json_null(Messages::Attachments))
                    .col(string(Messages::Status))
                    // The user message a reply answers, and the reply a user message gets.
                    .col(string_null(Messages::ReplyTo))
                    .col(string_null(Messages::ReplyId))
                    .col(string_null(Messages::Model))
                    .col(big_integer_null(Messages::PromptTokens))
                    .col(big_integer_null(Messages::CompletionTokens))
                    .col(string_null(Messages::FinishReason))
                    .col(json_null(Messages::Error))
                    // Byte offsets where each streamed delta ended, so a finished stream can be replayed exactly.
                    .col(json_null(Messages::Deltas))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .col(timestamp_with_time_zone_null(Messages::CompletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Messages::Table, Messages::ConversationId)
                            .to(Conversations::Table, Conversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_conversation_id")
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(string(Events::Id).primary_key())
                    .col(string(Events::AccountId))
                    .col(string(Events::Type))
                    .col(string(Events::SubjectId))
                    .col(json(Events::Data))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_account_id")
                    .table(Events::Table)
                    .col(Events::AccountId)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(string(IdempotencyKeys::AccountId))
                    .col(string(IdempotencyKeys::Key))
                    .col(string(IdempotencyKeys::RequestHash))
                    .col(integer_null(IdempotencyKeys::Status))
                    .col(text_null(IdempotencyKeys::Body))
                    .col(string_null(IdempotencyKeys::ContentType))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                    .primary_key(Index::create().col(IdempotencyKeys::AccountId).col(IdempotencyKeys::Key))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsageMonthly::Table)
                    .col(string(UsageMonthly::AccountId))
                    .col(string(UsageMonthly::Period))
                    .col(big_integer(UsageMonthly::PromptTokens))
                    .col(big_integer(UsageMonthly::CompletionTokens))
                    .col(big_integer(UsageMonthly::ModelCalls))
                    .col(timestamp_with_time_zone(UsageMonthly::UpdatedAt))
                    .primary_key(Index::create().col(UsageMonthly::AccountId).col(UsageMonthly::Period))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            UsageMonthly::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            Events::Table.into_iden(),
            Messages::Table.into_iden(),
            Conversations::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Conversations {
    Table,
    Id,
    AccountId,
    AgentId,
    UserId,
    Metadata,
    ModelProvider,
    ModelName,
    Temperature,
    MaxTokens,
    Status,
    ActiveReplyId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    AccountId,
    ConversationId,
    Role,
    Content,
    Attachments,
    Status,
    ReplyTo,
    ReplyId,
    Model,
    PromptTokens,
    CompletionTokens,
    FinishReason,
    Error,
    Deltas,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    AccountId,
    Type,
    SubjectId,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    AccountId,
    Key,
    RequestHash,
    Status,
    Body,
    ContentType,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum UsageMonthly {
    Table,
    AccountId,
    Period,
    PromptTokens,
    CompletionTokens,
    ModelCalls,
    UpdatedAt,
}
