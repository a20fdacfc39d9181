//! Knowledge: files uploaded for retrieval are extracted to text and cut into chunks, each indexed for full-text
//! search (FTS5 kept by triggers on SQLite; a generated `tsvector` with a GIN index on PostgreSQL). A file may
//! name the `collection` it belongs to (the `knowledge-base` skill's `index`).
use sea_orm_migration::{prelude::*, schema::*};

use crate::fulltext::FullTextIndex;

const INDEX: FullTextIndex = FullTextIndex { table: "file_chunks", key: "chunk_id" };

#[derive(DeriveMigrationName)]
pub struct Migration;

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
        INDEX.create(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        INDEX.drop(manager).await?;
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
