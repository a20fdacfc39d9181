//! Knowledge: files uploaded for retrieval are extracted to text and cut into chunks, each indexed for full-text
//! search (FTS5 kept by triggers on SQLite; a generated `tsvector` with a GIN index on PostgreSQL). A file may
//! name the `collection` it belongs to (the `knowledge-base` skill's `index`).
use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_FTS: [&str; 3] = [
    "CREATE VIRTUAL TABLE file_chunks_fts USING fts5(chunk_id UNINDEXED, content, tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER file_chunks_fts_insert AFTER INSERT ON file_chunks BEGIN
         INSERT INTO file_chunks_fts (chunk_id, content) VALUES (new.id, new.content);
     END",
    "CREATE TRIGGER file_chunks_fts_delete AFTER DELETE ON file_chunks BEGIN
         DELETE FROM file_chunks_fts WHERE chunk_id = old.id;
     END",
];

const POSTGRES_FTS: [&str; 2] = [
    "ALTER TABLE file_chunks ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED",
    "CREATE INDEX idx_file_chunks_search ON file_chunks USING GIN (search)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Files::Table).add_column(string_null(Files::Collection)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FileChunks::Table)
                    .col(string(FileChunks::Id).primary_key())
                    .col(string(FileChunks::FileId))
                    .col(string(FileChunks::AccountId))
                    .col(string_null(FileChunks::Collection))
                    .col(integer(FileChunks::Position))
                    .col(text(FileChunks::Content))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FileChunks::Table, FileChunks::FileId)
                            .to(Files::Table, Files::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_file_chunks_file")
                    .table(FileChunks::Table)
                    .col(FileChunks::FileId)
                    .col(FileChunks::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_file_chunks_account")
                    .table(FileChunks::Table)
                    .col(FileChunks::AccountId)
                    .col(FileChunks::Collection)
                    .to_owned(),
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
            db.execute_unprepared("DROP TABLE IF EXISTS file_chunks_fts").await?;
        }
        manager.drop_table(Table::drop().table(FileChunks::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Files::Table).drop_column(Files::Collection).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    Collection,
}

#[derive(DeriveIden)]
enum FileChunks {
    Table,
    Id,
    FileId,
    AccountId,
    Collection,
    Position,
    Content,
}
