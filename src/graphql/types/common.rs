//! Small shared output types.
use async_graphql::{ID, SimpleObject};

use crate::{auth::Plan, graphql::scalars::DateTime, services::pagination::PageInfo};

/// `{"total", "page", "limit"}` of a list response.
#[derive(SimpleObject, Clone, Copy)]
pub struct Pagination {
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

impl From<PageInfo> for Pagination {
    fn from(info: PageInfo) -> Self {
        Self { total: info.total, page: info.page, limit: info.limit }
    }
}

/// The answer to a delete: which resource is gone.
#[derive(SimpleObject)]
pub struct Deleted {
    pub id: ID,
    pub deleted: bool,
}

/// A short-lived bearer token minted from an API key.
#[derive(SimpleObject)]
pub struct AccessToken {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until expiry.
    pub expires_in: i64,
    pub expires_at: DateTime,
    pub scopes: Vec<String>,
}

/// The authenticated caller.
#[derive(SimpleObject)]
pub struct Viewer {
    pub account_id: ID,
    pub plan: Plan,
    pub scopes: Vec<String>,
}
