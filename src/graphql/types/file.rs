//! A stored file's metadata (the bytes are downloaded from `url`).
use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};

use crate::services::files;

#[derive(SimpleObject)]
pub struct File {
    pub id: ID,
    /// The uploaded file name, without any path.
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// Sniffed from the bytes, never taken from the client.
    pub content_type: String,
    /// Hex SHA-256 of the bytes (also the download's ETag).
    pub sha256: String,
    /// `user_data`, `knowledge`, `attachment` or `analysis`.
    pub purpose: String,
    /// The knowledge collection (`knowledge` files uploaded with one; the `knowledge-base` skill's `index`).
    pub collection: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Where to download the bytes (`Range` supported).
    pub url: String,
}

impl From<entity::file::Model> for File {
    fn from(model: entity::file::Model) -> Self {
        Self {
            url: files::content_path(&model.id),
            id: ID(model.id),
            name: model.name,
            size: model.size,
            content_type: model.content_type,
            sha256: model.sha256,
            purpose: model.purpose,
            collection: model.collection,
            created_at: model.created_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct FilePage {
    pub files: Vec<File>,
    pub pagination: super::Pagination,
}
