//! Stored files: metadata rows here, bytes in the storage backend. (Uploads arrive with the files issue; tasks
//! store their outputs, such as charts, through [`store`].)
use crate::db::Db;
use bytes::Bytes;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::{
    error::{AppError, AppResult},
    storage::{FileStorage, StorageError},
};
use entity::file;

/// Stores bytes and their metadata; the bytes are written first, so a row never points at nothing.
pub async fn store(
    db: &Db,
    storage: &dyn FileStorage,
    account_id: &str,
    name: &str,
    content_type: &str,
    purpose: &str,
    bytes: Bytes,
) -> AppResult<file::Model> {
    let id = crate::ids::new_id("file");
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    storage.put(&id, bytes).await.map_err(|e| AppError::Internal(e.into()))?;
    Ok(file::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account_id.to_owned()),
        name: Set(name.to_owned()),
        size: Set(size),
        content_type: Set(content_type.to_owned()),
        sha256: Set(sha256),
        purpose: Set(purpose.to_owned()),
        storage_key: Set(id),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

pub async fn get(db: &impl ConnectionTrait, account_id: &str, id: &str) -> AppResult<file::Model> {
    file::Entity::find_by_id(id)
        .filter(file::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound { resource: "file" })
}

/// A file's bytes.
pub async fn content(storage: &dyn FileStorage, file: &file::Model) -> AppResult<Bytes> {
    storage.get(&file.storage_key).await.map_err(|err| match err {
        StorageError::NotFound(_) => AppError::NotFound { resource: "file content" },
        other => AppError::Internal(other.into()),
    })
}

/// The path a file's bytes are downloaded from.
pub fn content_path(id: &str) -> String {
    format!("/v2/files/{id}/content")
}
