//! Exchanging an API key for a short-lived access token (`POST /v2/auth/token`).
use async_graphql::{Context, Object};
use chrono::{TimeZone, Utc};

use crate::{
    auth::{AuthMethod, principal::validate_scopes},
    error::AppError,
    graphql::{
        context::ContextExt, errors::GqlResultExt, inputs::CreateAccessTokenInput, scalars::DateTime,
        types::AccessToken,
    },
};

#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Mints an HS256 JWT carrying the key's account, plan and (a subset of its) scopes.
    /// Only an API key may mint: a token cannot extend itself.
    async fn create_access_token(
        &self,
        ctx: &Context<'_>,
        input: Option<CreateAccessTokenInput>,
    ) -> async_graphql::Result<AccessToken> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        let AuthMethod::ApiKey { key_id } = &principal.method else {
            return Err(AppError::forbidden("access tokens can only be created with an API key").into_graphql());
        };
        let input = input.unwrap_or_default();
        let scopes = input.scopes.unwrap_or_else(|| principal.scopes.clone());
        validate_scopes(&scopes).map_err(|m| AppError::validation("scopes", m).into_graphql())?;
        if let Some(scope) = scopes.iter().find(|s| !principal.allows(s)) {
            return Err(AppError::forbidden(format!("the API key does not carry the `{scope}` scope")).into_graphql());
        }
        let ttl = input.expires_in.unwrap_or(app.config.jwt_ttl_secs as i64);
        if !(60..=86_400).contains(&ttl) {
            return Err(AppError::validation("expiresIn", "must be between 60 and 86400 seconds").into_graphql());
        }
        let (token, claims) = app
            .auth
            .jwt()
            .issue(&principal.account_id, principal.plan, scopes, key_id, ttl)
            .map_err(|e| AppError::Internal(anyhow::Error::new(e)).into_graphql())?;
        let expires_at = Utc.timestamp_opt(claims.exp, 0).single().unwrap_or_else(Utc::now);
        Ok(AccessToken {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: ttl,
            expires_at: DateTime(expires_at),
            scopes: claims.scopes,
        })
    }
}
