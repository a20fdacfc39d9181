//! Stored files: metadata rows here, bytes in the storage backend. Uploads stream to storage ([`upload`]); tasks
//! store their outputs, such as charts, through [`store`]. The content type is sniffed from the bytes, never
//! taken from the client.
use crate::db::Db;
use bytes::Bytes;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use sha2::{Digest, Sha256};

use crate::{
    error::{AppError, AppResult},
    extract::Extractor,
    services::pagination::PageRequest,
    storage::{ByteStream, FileStorage, StorageError, Written},
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
        collection: Set(None),
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

/// Largest `knowledge` file: its text is extracted in memory.
pub const MAX_INDEXED_BYTES: u64 = 64 * 1024 * 1024;

/// The purpose of files indexed for retrieval.
pub const KNOWLEDGE: &str = "knowledge";

/// Purposes a file may be uploaded for (`user_data` when none is given).
pub const PURPOSES: [&str; 4] = ["user_data", "knowledge", "attachment", "analysis"];

/// A client's file name made safe to store and show: no path, no control characters, at most 255 characters.
pub fn clean_name(raw: Option<&str>) -> String {
    let base = raw.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let name = name.trim();
    if name.is_empty() { "upload".to_owned() } else { name.to_owned() }
}

pub fn validate_purpose(purpose: &str) -> AppResult<()> {
    if PURPOSES.contains(&purpose) {
        Ok(())
    } else {
        Err(AppError::validation("purpose", format!("must be one of {}", PURPOSES.join(", "))))
    }
}

/// The content type of a file from its first bytes: binary formats by their signature, text by its extension once
/// the bytes are known to be UTF-8 text.
pub fn sniff(head: &[u8], name: &str) -> String {
    // Text formats are told apart below (with their charset); signatures decide everything binary.
    if let Some(kind) = infer::get(head).filter(|kind| !kind.mime_type().starts_with("text/")) {
        return kind.mime_type().to_owned();
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        // The head may end inside a character.
        Err(err) if err.error_len().is_none() => std::str::from_utf8(&head[..err.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let Some(text) = text.filter(|t| !t.contains('\0')) else { return "application/octet-stream".to_owned() };
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let trimmed = text.trim_start();
    let kind = match extension.as_str() {
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "json" if trimmed.starts_with(['{', '[']) => "application/json",
        "html" | "htm" => "text/html",
        _ if trimmed.starts_with("<!DOCTYPE html") || trimmed.starts_with("<html") => "text/html",
        _ => "text/plain",
    };
    format!("{kind}; charset=utf-8")
}

/// What an upload is: its cleaned name, purpose and (knowledge files) collection.
#[derive(Debug, Clone)]
pub struct UploadMeta {
    pub name: String,
    pub purpose: String,
    pub collection: Option<String>,
}

/// Streams an upload to storage, then records it. Past `limit` bytes the upload is refused (413) and nothing is
/// kept; an empty upload is refused (400). The row is written after the bytes, so it never points at nothing.
///
/// A `knowledge` file is also extracted and chunked for retrieval, in the transaction that records it: a file
/// whose text cannot be extracted (415 `unsupported_file_type`, 422 `unreadable_file` or `extraction_limit`) is
/// not kept.
pub async fn upload(
    db: &Db,
    storage: &dyn FileStorage,
    extractor: &Extractor,
    account_id: &str,
    meta: UploadMeta,
    chunks: ByteStream<'_>,
    limit: u64,
) -> AppResult<file::Model> {
    let UploadMeta { name, purpose, collection } = meta;
    let purpose = purpose.as_str();
    validate_purpose(purpose)?;
    if let Some(collection) = &collection {
        if purpose != KNOWLEDGE {
            return Err(AppError::validation("collection", "only `knowledge` files belong to a collection"));
        }
        super::knowledge::validate_collection(collection)?;
    }
    let id = crate::ids::new_id("file");
    let Written { size, sha256, head } = storage.put_stream(&id, chunks, limit).await.map_err(|err| match err {
        StorageError::TooLarge { limit } => {
            AppError::PayloadTooLarge { limit: usize::try_from(limit).unwrap_or(usize::MAX) }
        }
        StorageError::Source(message) => AppError::BadRequest { code: "invalid_upload", message },
        other => AppError::Internal(other.into()),
    })?;
    if size == 0 {
        let _ = storage.delete(&id).await;
        return Err(AppError::BadRequest { code: "empty_file", message: "the uploaded file is empty".into() });
    }
    let row = file::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account_id.to_owned()),
        content_type: Set(sniff(&head, &name)),
        name: Set(name),
        size: Set(i64::try_from(size).unwrap_or(i64::MAX)),
        sha256: Set(sha256),
        purpose: Set(purpose.to_owned()),
        storage_key: Set(id.clone()),
        collection: Set(collection),
        created_at: Set(Utc::now()),
    };
    let recorded = record(db, storage, extractor, row, purpose == KNOWLEDGE).await;
    if recorded.is_err() {
        let _ = storage.delete(&id).await;
    }
    recorded
}

/// Inserts the row (and a knowledge file's chunks) in one transaction.
async fn record(
    db: &Db,
    storage: &dyn FileStorage,
    extractor: &Extractor,
    row: file::ActiveModel,
    index: bool,
) -> AppResult<file::Model> {
    let text = match index {
        false => None,
        true => {
            let size = u64::try_from(*row.size.as_ref()).unwrap_or(u64::MAX);
            if size > MAX_INDEXED_BYTES {
                return Err(AppError::BadRequest {
                    code: "payload_too_large",
                    message: format!(
                        "knowledge files are indexed up to {MAX_INDEXED_BYTES} bytes; store larger ones as `user_data`"
                    ),
                });
            }
            let content_type = row.content_type.as_ref().clone();
            let bytes = storage.get(row.storage_key.as_ref()).await.map_err(|e| AppError::Internal(e.into()))?;
            Some(extractor.extract_whole(&content_type, bytes).await.map_err(super::knowledge::extraction_error)?)
        }
    };
    let txn = crate::db::begin_write(db).await?;
    let model = row.insert(&txn).await?;
    if let Some(text) = text {
        super::knowledge::index(&txn, &model, &text).await?;
    }
    txn.commit().await?;
    Ok(model)
}

/// The caller's files, newest first, optionally of one purpose.
pub async fn list(
    db: &Db,
    account_id: &str,
    purpose: Option<&str>,
    page: PageRequest,
) -> AppResult<(Vec<file::Model>, u64)> {
    let mut query = file::Entity::find().filter(file::Column::AccountId.eq(account_id));
    if let Some(purpose) = purpose {
        validate_purpose(purpose)?;
        query = query.filter(file::Column::Purpose.eq(purpose));
    }
    let total = query.clone().count(db).await?;
    let rows = query.order_by_desc(file::Column::Id).offset(page.offset()).limit(page.limit).all(db).await?;
    Ok((rows, total))
}

/// Deletes the row and returns its storage key: the caller deletes the bytes once the deletion is committed (a
/// crash in between leaves unreferenced bytes, never a row without them).
pub async fn delete(db: &Db, account_id: &str, id: &str) -> AppResult<String> {
    let found = get(db, account_id, id).await?;
    file::Entity::delete_by_id(found.id.clone()).exec(db).await?;
    Ok(found.storage_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        assert_eq!(sniff(&png, "notes.txt"), "image/png", "the bytes win over the name");
        assert_eq!(sniff(b"%PDF-1.7\n", "x.bin"), "application/pdf");
        assert_eq!(sniff("# 标题\n".as_bytes(), "a.md"), "text/markdown; charset=utf-8");
        assert_eq!(sniff(b"a,b\n1,2\n", "t.csv"), "text/csv; charset=utf-8");
        assert_eq!(sniff(b"{\"a\":1}", "d.json"), "application/json; charset=utf-8");
        assert_eq!(sniff(b"not json", "d.json"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"<!DOCTYPE html><p>x", "page"), "text/html; charset=utf-8");
        assert_eq!(sniff(&[0xff, 0xfe, 0x00, 0x01], "x.txt"), "application/octet-stream");
        let cut = "日本".as_bytes();
        assert_eq!(sniff(&cut[..4], "x.txt"), "text/plain; charset=utf-8", "a character cut by the head is still text");
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_name(Some("C:\\x\\report.pdf")), "report.pdf");
        assert_eq!(clean_name(Some("a\u{0}b\nc.txt")), "abc.txt");
        assert_eq!(clean_name(None), "upload");
        assert_eq!(clean_name(Some("   ")), "upload");
    }
}
