//! Turns request credentials (`X-API-Key` or `Authorization: Bearer`) into a [`Principal`].
//! Verified API keys are cached briefly so a hot read path does not hit the database for every request.
use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use http::HeaderMap;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

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
            return self.from_bearer(token.trim());
        }
        if let Some(value) = headers.get("x-api-key") {
            let key = value.to_str().map_err(|_| AppError::Unauthenticated("malformed X-API-Key header".into()))?;
            return self.from_api_key(key.trim()).await;
        }
        Err(AppError::Unauthenticated("missing credentials: send X-API-Key or Authorization: Bearer <token>".into()))
    }

    /// Verifies an access token: HS256 only, signature, issuer, audience, expiry.
    pub fn from_bearer(&self, token: &str) -> AppResult<Principal> {
        let claims = self.jwt.verify(token).map_err(|err| {
            let reason = match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the access token has expired",
                _ => "the access token is invalid",
            };
            AppError::Unauthenticated(reason.into())
        })?;
        Ok(Principal { account_id: claims.sub, plan: claims.plan, scopes: claims.scopes, method: AuthMethod::Jwt })
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
        let account = account::Entity::find_by_id(&key.account_id).one(&self.db).await?.ok_or_else(invalid)?;
        let principal = Principal {
            account_id: account.id,
            plan: account.plan.parse().map_err(|e: String| AppError::Internal(anyhow::anyhow!(e)))?,
            scopes: serde_json::from_value(key.scopes).unwrap_or_default(),
            method: AuthMethod::ApiKey { key_id: key.id },
        };
        self.remember(hash, principal.clone());
        Ok(principal)
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
