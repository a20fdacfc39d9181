//! `Idempotency-Key`: the first request with a key runs and its response is remembered (24 h by default); a
//! retry with the same key and the same request gets that response again without the work being redone; the
//! same key with a different request is refused (422), and a retry while the first is still running gets 409.
//! Server errors (5xx) are not remembered, so they can be retried.
//!
//! While its request runs, a key is locked for a short lease that the owner keeps renewing ([`renew`]); a lock whose
//! owner died (a killed process) lapses with its lease, and the next retry runs the request afresh. Once the answer
//! is remembered the key lives for the full TTL.
use crate::db::Db;
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::OnConflict};
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
    /// Its first request died (its lock lapsed) after it had stored a message: answer with that exchange as it
    /// stands (the retry has taken the lock over; remember the answer with [`complete`]).
    Orphaned { reply_id: String },
}

/// Marks a key whose running request has stored a message, with the reply's id (see [`note_reply`]).
pub const PENDING_REPLY: &str = "application/vnd.openclaw.reply-in-progress";

/// The key a request runs under, for the work it does to note its progress on (a plain value the REST layer
/// puts into the GraphQL request's data).
#[derive(Debug, Clone)]
pub struct Claim {
    pub account_id: String,
    pub key: String,
}

/// A running request has stored its message: the key remembers the reply, so a retry after this process dies
/// answers with that exchange instead of storing the message again.
pub async fn note_reply(db: &Db, claim: &Claim, reply_id: &str) -> AppResult<()> {
    Entity::update_many()
        .col_expr(Column::Body, sea_orm::sea_query::Expr::value(reply_id))
        .col_expr(Column::ContentType, sea_orm::sea_query::Expr::value(PENDING_REPLY))
        .filter(Column::AccountId.eq(claim.account_id.as_str()))
        .filter(Column::Key.eq(claim.key.as_str()))
        .filter(Column::Status.is_null())
        .exec(db)
        .await?;
    Ok(())
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

/// Marks a fingerprint of the canonical form; stored hashes without it were taken over the raw body bytes (before
/// the canonical form) and are still honoured until their keys expire.
const CANONICAL: &str = "v2:";

/// A fingerprint of the request: method, path and body. A JSON body is taken in canonical form (object keys
/// sorted, no whitespace), so a retry that re-serializes the same JSON in another key order is the same request.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    /// What is stored for a fresh key.
    current: String,
    /// The fingerprint as it was computed before the canonical form: raw body bytes, no version marker.
    legacy: String,
}

impl Fingerprint {
    pub fn of(method: &str, path: &str, body: &[u8]) -> Self {
        let legacy = hash_parts(&[method.as_bytes(), b"\n", path.as_bytes(), b"\n", body]);
        let current = match canonical_json(body) {
            Some(canonical) => hash_parts(&[method.as_bytes(), b"\njson\n", path.as_bytes(), b"\n", &canonical]),
            // Not JSON (empty, multipart, text): only the exact bytes are the same request.
            None => hash_parts(&[method.as_bytes(), b"\nraw\n", path.as_bytes(), b"\n", body]),
        };
        Self { current: format!("{CANONICAL}{current}"), legacy }
    }

    /// Whether a stored fingerprint names this request.
    fn matches(&self, stored: &str) -> bool {
        stored == self.current || (!stored.starts_with(CANONICAL) && stored == self.legacy)
    }
}

fn hash_parts(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// The body re-serialized with every object's keys sorted, or `None` if it is not JSON.
fn canonical_json(body: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    serde_json::to_vec(&sorted(value)).ok()
}

/// Rebuilds objects in key order. Explicit rather than relying on `serde_json::Map` being a `BTreeMap`: a
/// dependency turning on `preserve_order` would otherwise silently make the fingerprint order-sensitive again.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let ordered: std::collections::BTreeMap<String, serde_json::Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            serde_json::Value::Object(ordered.into_iter().collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Claims the key for a fresh request (locked for `lease`), or finds what an earlier request answered.
pub async fn begin(
    db: &Db,
    account_id: &str,
    key: &str,
    fingerprint: &Fingerprint,
    lease: Duration,
) -> AppResult<Begin> {
    let now = Utc::now();
    for _ in 0..2 {
        let inserted = Entity::insert(idempotency_key::ActiveModel {
            account_id: Set(account_id.to_owned()),
            key: Set(key.to_owned()),
            request_hash: Set(fingerprint.current.clone()),
            status: Set(None),
            body: Set(None),
            content_type: Set(None),
            created_at: Set(now),
            expires_at: Set(now + lease),
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
            let orphaned = existing.status.is_none()
                && existing.content_type.as_deref() == Some(PENDING_REPLY)
                && fingerprint.matches(&existing.request_hash);
            if let (true, Some(reply_id)) = (orphaned, existing.body.clone()) {
                // Take the lock over (only if no other retry did first), then answer with what was stored.
                let taken = Entity::update_many()
                    .col_expr(Column::ExpiresAt, sea_orm::sea_query::Expr::value(now + lease))
                    .filter(Column::AccountId.eq(account_id))
                    .filter(Column::Key.eq(key))
                    .filter(Column::ExpiresAt.eq(existing.expires_at))
                    .exec(db)
                    .await?;
                if taken.rows_affected == 1 {
                    return Ok(Begin::Orphaned { reply_id });
                }
                continue;
            }
            Entity::delete_by_id((account_id.to_owned(), key.to_owned())).exec(db).await?;
            continue;
        }
        if !fingerprint.matches(&existing.request_hash) {
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

/// Keeps a running request's lock: pushes its lease on (only while no answer is stored).
pub async fn renew(db: &Db, account_id: &str, key: &str, lease: Duration) -> AppResult<()> {
    Entity::update_many()
        .col_expr(Column::ExpiresAt, sea_orm::sea_query::Expr::value(Utc::now() + lease))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Key.eq(key))
        .filter(Column::Status.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The answer a fresh request gave, to remember for `ttl` from when the key was first used.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
}

/// Remembers the response of a fresh request.
pub async fn complete(db: &Db, account_id: &str, key: &str, answer: Answer, ttl: Duration) -> AppResult<()> {
    let Answer { status, body, content_type } = answer;
    let Some(row) = Entity::find_by_id((account_id.to_owned(), key.to_owned())).one(db).await? else {
        return Ok(());
    };
    let expires_at = row.created_at + ttl;
    let mut active: idempotency_key::ActiveModel = row.into();
    active.expires_at = Set(expires_at);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_json_in_another_key_order_is_the_same_request() {
        let a = Fingerprint::of("POST", "/v2/agents", br#"{"name":"x","settings":{"b":1,"a":[{"y":2,"x":1}]}}"#);
        let b =
            Fingerprint::of("POST", "/v2/agents", br#"{ "settings": {"a": [{"x": 1, "y": 2}], "b": 1}, "name": "x" }"#);
        assert!(b.matches(&a.current));
        let other = Fingerprint::of("POST", "/v2/agents", br#"{"name":"y","settings":{"b":1,"a":[{"y":2,"x":1}]}}"#);
        assert!(!other.matches(&a.current));
        // Array order is meaning, not formatting.
        let swapped = Fingerprint::of("POST", "/v2/agents", br#"{"a":[2,1]}"#);
        assert!(!swapped.matches(&Fingerprint::of("POST", "/v2/agents", br#"{"a":[1,2]}"#).current));
        assert!(!a.matches(&Fingerprint::of("POST", "/v2/other", br#"{"name":"x"}"#).current));
    }

    #[test]
    fn fingerprints_stored_before_the_canonical_form_still_match_the_same_bytes() {
        let body = br#"{"name":"x","model":"gpt-4"}"#;
        let stored_before = hash_parts(&[b"POST", b"\n", b"/v2/agents", b"\n", body]);
        assert!(Fingerprint::of("POST", "/v2/agents", body).matches(&stored_before));
        assert!(!Fingerprint::of("POST", "/v2/agents", br#"{"name":"y"}"#).matches(&stored_before));
        // A non-JSON body is compared byte for byte.
        let raw = Fingerprint::of("POST", "/v2/files", b"--boundary\r\n");
        assert!(raw.matches(&Fingerprint::of("POST", "/v2/files", b"--boundary\r\n").current));
        assert!(!raw.matches(&Fingerprint::of("POST", "/v2/files", b"--boundary \r\n").current));
    }
}
