//! What skills need: a reply's trace of tool calls and recalls (so a finished reply's stream replays them), and
//! memories with a full-text index (SQLite FTS5 kept by triggers; a generated `tsvector` with a GIN index on
//! PostgreSQL).
use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_FTS: [&str; 4] = [
    "CREATE VIRTUAL TABLE memories_fts USING fts5(memory_id UNINDEXED, content, tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
         INSERT INTO memories_fts (memory_id, content) VALUES (new.id, new.content);
     END",
    "CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN
         UPDATE memories_fts SET content = new.content WHERE memory_id = old.id;
     END",
    "CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
         DELETE FROM memories_fts WHERE memory_id = old.id;
     END",
];

const POSTGRES_FTS: [&str; 2] = [
    "ALTER TABLE memories ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED",
    "CREATE INDEX idx_memories_search ON memories USING GIN (search)",
];

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
                Index::create().name("idx_memories_expires_at").table(Memories::Table).col(Memories::ExpiresAt).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let statements: &[&str] = match db.get_database_backend() {
            DatabaseBackend::Postgres => &POSTGRES_FTS,
            _ => &SQLITE_FTS,
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DatabaseBackend::Sqlite {
            db.execute_unprepared("DROP TABLE IF EXISTS memories_fts").await?;
        }
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
