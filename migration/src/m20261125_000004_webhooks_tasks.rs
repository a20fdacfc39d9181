//! Webhook endpoints, the delivery queue (an outbox: rows are written in the transaction of the event they carry)
//! with every attempt, durable async tasks, and stored files (task inputs and outputs such as charts).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(string(Webhooks::Id).primary_key())
                    .col(string(Webhooks::AccountId))
                    .col(text(Webhooks::Url))
                    .col(string_null(Webhooks::Description))
                    // The event types the endpoint receives (`["*"]` = all).
                    .col(json(Webhooks::Events))
                    .col(string(Webhooks::Secret))
                    // After a rotation the previous secret keeps signing until it expires.
                    .col(string_null(Webhooks::PreviousSecret))
                    .col(timestamp_with_time_zone_null(Webhooks::PreviousSecretExpiresAt))
                    .col(boolean(Webhooks::Enabled))
                    .col(string_null(Webhooks::DisabledReason))
                    // Set at the first failed attempt after a success; an endpoint failing for too long is disabled.
                    .col(timestamp_with_time_zone_null(Webhooks::FailingSince))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .col(timestamp_with_time_zone(Webhooks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhooks_account_id")
                    .table(Webhooks::Table)
                    .col(Webhooks::AccountId)
                    .col(Webhooks::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(string(WebhookDeliveries::Id).primary_key())
                    .col(string(WebhookDeliveries::AccountId))
                    // A webhook endpoint's delivery, or a task's callback (then `url`, `headers`, `secret` are its own).
                    .col(string_null(WebhookDeliveries::WebhookId))
                    .col(string_null(WebhookDeliveries::TaskId))
                    .col(string(WebhookDeliveries::EventId))
                    .col(string(WebhookDeliveries::EventType))
                    .col(text_null(WebhookDeliveries::Url))
                    .col(json_null(WebhookDeliveries::Headers))
                    .col(string_null(WebhookDeliveries::Secret))
                    // The exact bytes sent and signed, fixed when the delivery is enqueued.
                    .col(text(WebhookDeliveries::Payload))
                    .col(string(WebhookDeliveries::Status))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    // A worker's claim: nobody else sends this delivery until the lease expires.
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::LeaseUntil))
                    .col(integer_null(WebhookDeliveries::LastStatus))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::CompletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_webhook")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(string(WebhookAttempts::Id).primary_key())
                    .col(string(WebhookAttempts::DeliveryId))
                    .col(integer(WebhookAttempts::Attempt))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(big_integer(WebhookAttempts::LatencyMs))
                    .col(text_null(WebhookAttempts::ResponseExcerpt))
                    .col(text_null(WebhookAttempts::Error))
                    .col(timestamp_with_time_zone(WebhookAttempts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_delivery_attempts_delivery")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::DeliveryId)
                    .col(WebhookAttempts::Attempt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(string(Tasks::Id).primary_key())
                    .col(string(Tasks::AccountId))
                    .col(string(Tasks::Type))
                    .col(json(Tasks::Input))
                    .col(string(Tasks::Status))
                    .col(integer(Tasks::Progress))
                    .col(json_null(Tasks::Result))
                    .col(json_null(Tasks::Error))
                    .col(json_null(Tasks::Callback))
                    .col(integer(Tasks::Attempts))
                    .col(integer(Tasks::MaxAttempts))
                    .col(integer(Tasks::TimeoutSecs))
                    .col(timestamp_with_time_zone(Tasks::RunAfter))
                    .col(timestamp_with_time_zone_null(Tasks::LeaseUntil))
                    .col(string_null(Tasks::LeaseOwner))
                    .col(timestamp_with_time_zone(Tasks::CreatedAt))
                    .col(timestamp_with_time_zone(Tasks::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Tasks::StartedAt))
                    .col(timestamp_with_time_zone_null(Tasks::CompletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tasks_account_id")
                    .table(Tasks::Table)
                    .col(Tasks::AccountId)
                    .col(Tasks::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tasks_due")
                    .table(Tasks::Table)
                    .col(Tasks::Status)
                    .col(Tasks::RunAfter)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(string(Files::Id).primary_key())
                    .col(string(Files::AccountId))
                    .col(string(Files::Name))
                    .col(big_integer(Files::Size))
                    .col(string(Files::ContentType))
                    .col(string(Files::Sha256))
                    .col(string(Files::Purpose))
                    // Where the bytes live in the storage backend.
                    .col(string(Files::StorageKey))
                    .col(timestamp_with_time_zone(Files::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_files_account_id")
                    .table(Files::Table)
                    .col(Files::AccountId)
                    .col(Files::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_account_type")
                    .table(Events::Table)
                    .col(Events::AccountId)
                    .col(Events::Type)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_events_account_type").table(Events::Table).to_owned()).await?;
        for table in [
            Files::Table.into_iden(),
            Tasks::Table.into_iden(),
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            Webhooks::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
    AccountId,
    Type,
    Id,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    AccountId,
    Url,
    Description,
    Events,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    AccountId,
    WebhookId,
    TaskId,
    EventId,
    EventType,
    Url,
    Headers,
    Secret,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LastStatus,
    LastError,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    Attempt,
    StatusCode,
    LatencyMs,
    ResponseExcerpt,
    Error,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    AccountId,
    Type,
    Input,
    Status,
    Progress,
    Result,
    Error,
    Callback,
    Attempts,
    MaxAttempts,
    TimeoutSecs,
    RunAfter,
    LeaseUntil,
    LeaseOwner,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    AccountId,
    Name,
    Size,
    ContentType,
    Sha256,
    Purpose,
    StorageKey,
    CreatedAt,
}
