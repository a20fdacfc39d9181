//! Per-request context: the authenticated principal and the shared application state.
use async_graphql::Context;

use crate::{app::AppState, auth::Principal, error::AppError};

/// Typed access to what every resolver needs.
pub trait ContextExt {
    /// The caller; absent only if a route forgot to authenticate, which is an internal error.
    fn principal(&self) -> Result<&Principal, AppError>;
    fn app(&self) -> Result<&AppState, AppError>;
}

impl ContextExt for Context<'_> {
    fn principal(&self) -> Result<&Principal, AppError> {
        self.data::<Principal>().map_err(|_| AppError::Unauthenticated("missing credentials".into()))
    }

    fn app(&self) -> Result<&AppState, AppError> {
        self.data::<AppState>().map_err(|_| AppError::Internal(anyhow::anyhow!("AppState missing from schema data")))
    }
}
