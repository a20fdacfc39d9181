//! Authorization guards. Authentication happened before execution; guards check the credential's scopes.
use async_graphql::{Context, Guard};

use super::context::ContextExt;
use crate::error::AppError;

/// Requires the caller's credential to carry `scope` (403 otherwise).
pub struct ScopeGuard(pub &'static str);

impl Guard for ScopeGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let principal = ctx.principal().map_err(AppError::into_graphql)?;
        if principal.allows(self.0) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!("this credential lacks the `{}` scope", self.0)).into_graphql())
        }
    }
}
