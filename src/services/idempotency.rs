//! `Idempotency-Key`: the first request with a key runs and its response is remembered (24 h by default); a
//! retry with the same key and the same request gets that response again without the work being redone; the
//! same key with a different request is refused (422), and a retry while the first is still running gets 409.
//! Server errors (5xx) are not remembered, so they can be retried.
use crate::db::Db;
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::OnConflict,
};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
use entity::idempotency_key::{self, Column, Entity};

/// What to do with a request carrying a key.
#[derive(Debug)]
pub enum Begin {
    /// First time: run it, then [`complete`] (or [`abandon`]).
    Fresh,
    /// Seen and finished: answer with this.
    Replay(Remembered),
}

/// A remembered response.
#[derive(Debug)]
pub struct Remembered {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
}

/// Validates the header value: 1-255 visible ASCII characters.
pub fn validate_key(key: &str) -> AppResult<()> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::validation("Idempotency-Key", "must be 1-255 visible ASCII characters"));
    }
    Ok(())
}

/// A fingerprint of the request: method, path and body bytes.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

pub async fn begin(
    db: &Db,
    account_id: &str,
    key: &str,
    request_hash: &str,
    ttl: Duration,
) -> AppResult<Begin> {
    let now = Utc::now();
    for _ in 0..2 {
        let inserted = Entity::insert(idempotency_key::ActiveModel {
            account_id: Set(account_id.to_owned()),
            key: Set(key.to_owned()),
            request_hash: Set(request_hash.to_owned()),
            status: Set(None),
            body: Set(None),
            content_type: Set(None),
            created_at: Set(now),
            expires_at: Set(now + ttl),
        })
        .on_conflict(OnConflict::columns([Column::AccountId, Column::Key]).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            return Ok(Begin::Fresh);
        }
        let Some(existing) = Entity::find_by_id((account_id.to_owned(), key.to_owned())).one(db).await? else {
            continue; // expired and purged between the two statements: try again
        };
        if existing.expires_at <= now {
            Entity::delete_by_id((account_id.to_owned(), key.to_owned())).exec(db).await?;
            continue;
        }
        if existing.request_hash != request_hash {
            return Err(AppError::BadRequest {
                code: "idempotency_mismatch",
                message: "this Idempotency-Key was used with a different request; use a new key".into(),
            });
        }
        return match (existing.status, existing.body) {
            (Some(status), Some(body)) => Ok(Begin::Replay(Remembered {
                status: u16::try_from(status).unwrap_or(200),
                body,
                content_type: existing.content_type,
            })),
            _ => Err(AppError::Conflict {
                code: "idempotency_key_in_use",
                message: "a request with this Idempotency-Key is still being processed; retry later".into(),
            }),
        };
    }
    Err(AppError::Conflict { code: "idempotency_key_in_use", message: "this Idempotency-Key is contended".into() })
}

/// Remembers the response of a fresh request.
pub async fn complete(
    db: &Db,
    account_id: &str,
    key: &str,
    status: u16,
    body: String,
    content_type: Option<String>,
) -> AppResult<()> {
    let Some(row) = Entity::find_by_id((account_id.to_owned(), key.to_owned())).one(db).await? else {
        return Ok(());
    };
    let mut active: idempotency_key::ActiveModel = row.into();
    active.status = Set(Some(i32::from(status)));
    active.body = Set(Some(body));
    active.content_type = Set(content_type);
    active.update(db).await?;
    Ok(())
}

/// Forgets a key whose request failed on our side, so the client may retry it.
pub async fn abandon(db: &Db, account_id: &str, key: &str) -> AppResult<()> {
    Entity::delete_by_id((account_id.to_owned(), key.to_owned())).exec(db).await?;
    Ok(())
}

/// Deletes expired keys (run periodically).
pub async fn purge_expired(db: &Db) -> AppResult<u64> {
    Ok(Entity::delete_many().filter(Column::ExpiresAt.lte(Utc::now())).exec(db).await?.rows_affected)
}
