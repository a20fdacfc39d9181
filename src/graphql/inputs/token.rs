//! Exchanging an API key for an access token.
use async_graphql::InputObject;

/// `POST /v2/auth/token` body (optional).
#[derive(InputObject, Default)]
pub struct CreateAccessTokenInput {
    /// A subset of the key's scopes; defaults to all of them.
    pub scopes: Option<Vec<String>>,
    /// Lifetime in seconds, 60–86400; defaults to the server's configured lifetime.
    pub expires_in: Option<i64>,
}
