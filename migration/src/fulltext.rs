//! A table's full-text index, the same way on every table that has one: on SQLite an FTS5 table (`{table}_fts`,
//! Porter stemming) holding the row id and the text, kept by triggers; on PostgreSQL a generated `search`
//! `tsvector` (English) with a GIN index. `services::fulltext` in the server queries both.
use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

/// Which table, its id column, and the name of the id in the FTS5 table.
pub struct FullTextIndex {
    pub table: &'static str,
    pub key: &'static str,
}

impl FullTextIndex {
    fn statements(&self, backend: DatabaseBackend) -> Vec<String> {
        let Self { table, key } = self;
        let fts = format!("{table}_fts");
        match backend {
            DatabaseBackend::Postgres => vec![
                format!(
                    "ALTER TABLE {table} ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED"
                ),
                format!("CREATE INDEX idx_{table}_search ON {table} USING GIN (search)"),
            ],
            _ => vec![
                format!(
                    "CREATE VIRTUAL TABLE {fts} USING fts5({key} UNINDEXED, content, tokenize = 'porter unicode61 remove_diacritics 2')"
                ),
                format!(
                    "CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN
                         INSERT INTO {fts} ({key}, content) VALUES (new.id, new.content);
                     END"
                ),
                format!(
                    "CREATE TRIGGER {fts}_update AFTER UPDATE OF content ON {table} BEGIN
                         UPDATE {fts} SET content = new.content WHERE {key} = old.id;
                     END"
                ),
                format!(
                    "CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN
                         DELETE FROM {fts} WHERE {key} = old.id;
                     END"
                ),
            ],
        }
    }

    /// Creates the index (after the table, which has `id` and `content` columns).
    pub async fn create(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in self.statements(db.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    /// Drops what only SQLite keeps apart from the table (PostgreSQL's column and index go with it).
    pub async fn drop(&self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DatabaseBackend::Sqlite {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {}_fts", self.table)).await?;
        }
        Ok(())
    }
}
