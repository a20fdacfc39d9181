//! Turns request credentials (`X-API-Key` or `Authorization: Bearer`) into a [`Principal`].
//! Verified API keys are cached briefly so a hot read path does not hit the database for every request.
use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use http::HeaderMap;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::principal::SCOPES;
use super::{
    api_key,
    jwt::JwtKeys,
    principal::{AuthMethod, Principal},
};
use crate::error::{AppError, AppResult};
use entity::{account, api_key as key_entity};

/// Cache entries beyond this count are dropped wholesale; a key lookup is cheap enough to refill.
const CACHE_CAPACITY: usize = 10_000;

pub struct Authenticator {
    db: DatabaseConnection,
    jwt: JwtKeys,
    cache_ttl: Duration,
    cache: RwLock<HashMap<String, (Principal, Instant)>>,
}

impl Authenticator {
    pub fn new(db: DatabaseConnection, jwt: JwtKeys, cache_ttl: Duration) -> Self {
        Self { db, jwt, cache_ttl, cache: RwLock::new(HashMap::new()) }
    }

    /// Forgets every cached key, so a changed plan or revoked key takes effect on this instance's next request
    /// (other instances see it when their cache entries expire: `api_key_cache_secs`).
    pub fn forget_cached(&self) {
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
    }

    pub fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }

    /// Authenticates from HTTP headers. Absent credentials and bad credentials are both 401.
    pub async fn from_headers(&self, headers: &HeaderMap) -> AppResult<Principal> {
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let value =
                value.to_str().map_err(|_| AppError::Unauthenticated("malformed Authorization header".into()))?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or_else(|| AppError::Unauthenticated("Authorization must use the Bearer scheme".into()))?;
            return self.from_bearer(token.trim()).await;
        }
        if let Some(value) = headers.get("x-api-key") {
            let key = value.to_str().map_err(|_| AppError::Unauthenticated("malformed X-API-Key header".into()))?;
            return self.from_api_key(key.trim()).await;
        }
        Err(AppError::Unauthenticated("missing credentials: send X-API-Key or Authorization: Bearer <token>".into()))
    }

    /// Verifies an access token (HS256 only, signature, issuer, audience, expiry, `nbf` when present), then checks
    /// it against the API key it was minted from: a token dies with its key, carries the account's current plan,
    /// and never more scopes than the key has now. The key's state is cached like a key's (`cache_ttl`).
    pub async fn from_bearer(&self, token: &str) -> AppResult<Principal> {
        let claims = self.jwt.verify(token).map_err(|err| {
            let reason = match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the access token has expired",
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => "the access token is not valid yet (nbf)",
                _ => "the access token is invalid",
            };
            AppError::Unauthenticated(reason.into())
        })?;
        // Every token this server mints names its key; one that does not cannot be checked against a key's state.
        let Some(key_id) = claims.kid.as_deref().filter(|kid| !kid.is_empty()) else {
            return Err(AppError::Unauthenticated(
                "the access token names no API key (kid); mint a new one with POST /v2/auth/token".into(),
            ));
        };
        let key = self.key_by_id(key_id).await?;
        if key.account_id != claims.sub {
            return Err(AppError::Unauthenticated("the access token is invalid".into()));
        }
        Ok(Principal {
            scopes: narrow_scopes(&claims.scopes, &key),
            account_id: key.account_id,
            plan: key.plan,
            method: AuthMethod::Jwt,
        })
    }

    /// Verifies an API key against its stored hash (cached for `cache_ttl`).
    pub async fn from_api_key(&self, secret: &str) -> AppResult<Principal> {
        let invalid = || AppError::Unauthenticated("the API key is invalid or revoked".into());
        if !api_key::looks_valid(secret) {
            return Err(invalid());
        }
        let hash = api_key::hash(secret);
        if let Some(principal) = self.cached(&hash) {
            return Ok(principal);
        }
        let key = key_entity::Entity::find()
            .filter(key_entity::Column::SecretHash.eq(&hash))
            .filter(key_entity::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or_else(invalid)?;
        let principal = self.key_principal(key).await?.ok_or_else(invalid)?;
        self.remember(hash, principal.clone());
        Ok(principal)
    }

    /// The caller an access token's key stands for now (cached for `cache_ttl` under the key's id).
    async fn key_by_id(&self, key_id: &str) -> AppResult<Principal> {
        // Cache entries of keys are keyed by their hex hash; this prefix cannot collide with one.
        let cache_key = format!("kid:{key_id}");
        if let Some(principal) = self.cached(&cache_key) {
            return Ok(principal);
        }
        let gone =
            || AppError::Unauthenticated("the API key this access token was minted from no longer exists".into());
        let key = key_entity::Entity::find_by_id(key_id).one(&self.db).await?.ok_or_else(gone)?;
        if key.revoked_at.is_some() {
            return Err(AppError::Unauthenticated(
                "the API key this access token was minted from has been revoked".into(),
            ));
        }
        let principal = self.key_principal(key).await?.ok_or_else(gone)?;
        self.remember(cache_key, principal.clone());
        Ok(principal)
    }

    /// The caller an active key stands for: its account's current plan and the key's scopes. `None` if the account
    /// is gone.
    async fn key_principal(&self, key: key_entity::Model) -> AppResult<Option<Principal>> {
        let Some(account) = account::Entity::find_by_id(&key.account_id).one(&self.db).await? else {
            return Ok(None);
        };
        Ok(Some(Principal {
            account_id: account.id,
            plan: account.plan.parse().map_err(|e: String| AppError::Internal(anyhow::anyhow!(e)))?,
            scopes: serde_json::from_value(key.scopes).unwrap_or_default(),
            method: AuthMethod::ApiKey { key_id: key.id },
        }))
    }

    fn cached(&self, hash: &str) -> Option<Principal> {
        let cache = self.cache.read().ok()?;
        let (principal, at) = cache.get(hash)?;
        (at.elapsed() < self.cache_ttl).then(|| principal.clone())
    }

    fn remember(&self, hash: String, principal: Principal) {
        if self.cache_ttl.is_zero() {
            return;
        }
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(hash, (principal, Instant::now()));
        }
    }
}

/// The scopes a token may use now: those it was minted with that its key still carries. A wildcard the key no
/// longer covers whole is narrowed to the scopes under it that the key does carry.
fn narrow_scopes(minted: &[String], key: &Principal) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    let mut keep = |scope: &str| {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    };
    for scope in minted {
        if key.allows(scope) {
            keep(scope);
            continue;
        }
        let covered: Vec<&str> = match scope.as_str() {
            "*" => SCOPES.to_vec(),
            wildcard => match wildcard.strip_suffix(":*") {
                Some(resource) => SCOPES.iter().copied().filter(|s| s.split(':').next() == Some(resource)).collect(),
                None => Vec::new(),
            },
        };
        for narrower in covered.into_iter().filter(|s| key.allows(s)) {
            keep(narrower);
        }
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scopes: &[&str]) -> Principal {
        Principal {
            account_id: "acct-1".into(),
            plan: super::super::Plan::Free,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            method: AuthMethod::ApiKey { key_id: "key-1".into() },
        }
    }

    fn narrowed(minted: &[&str], key_scopes: &[&str]) -> Vec<String> {
        narrow_scopes(&minted.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &key(key_scopes))
    }

    #[test]
    fn token_scopes_are_intersected_with_the_keys_current_scopes() {
        assert_eq!(narrowed(&["*"], &["*"]), ["*"]);
        assert_eq!(narrowed(&["agents:read"], &["*"]), ["agents:read"]);
        assert_eq!(narrowed(&["*"], &["agents:read"]), ["agents:read"]);
        assert_eq!(
            narrowed(&["agents:*", "skills:read"], &["agents:write", "skills:*"]),
            ["agents:write", "skills:read"]
        );
        assert_eq!(narrowed(&["*"], &["agents:*"]), ["agents:read", "agents:write"]);
        assert!(narrowed(&["skills:write"], &["agents:*"]).is_empty());
        // `*` never reaches `admin`, narrowed or not.
        assert!(!narrowed(&["*"], &["admin"]).iter().any(|s| s == "admin"));
        assert_eq!(narrowed(&["admin"], &["admin"]), ["admin"]);
        assert!(narrowed(&["admin"], &["*"]).is_empty());
    }
}
