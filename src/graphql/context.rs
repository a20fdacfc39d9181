//! Per-request context: the authenticated principal, the shared application state and the request's unit of work.
use async_graphql::Context;

use crate::{app::AppState, auth::Principal, db::Db, error::AppError, events::Event, unit_of_work::UnitOfWork};

/// Typed access to what every resolver needs.
pub trait ContextExt {
    /// The caller; absent only if a route forgot to authenticate, which is an internal error.
    fn principal(&self) -> Result<&Principal, AppError>;
    fn app(&self) -> Result<&AppState, AppError>;
    /// The request's unit of work (inside an atomic batch: the batch's transaction).
    fn work(&self) -> Result<&UnitOfWork, AppError>;
    /// The database handle this request reads and writes through.
    fn db(&self) -> Result<&Db, AppError> {
        self.work().map(UnitOfWork::db)
    }
    /// Announces a recorded event once the request's writes are committed.
    fn publish(&self, event: Event) -> Result<(), AppError> {
        let app = self.app()?;
        self.work()?.publish(app, event);
        Ok(())
    }
}

impl ContextExt for Context<'_> {
    fn principal(&self) -> Result<&Principal, AppError> {
        self.data::<Principal>().map_err(|_| AppError::Unauthenticated("missing credentials".into()))
    }

    fn app(&self) -> Result<&AppState, AppError> {
        self.data::<AppState>().map_err(|_| AppError::Internal(anyhow::anyhow!("AppState missing from schema data")))
    }

    fn work(&self) -> Result<&UnitOfWork, AppError> {
        self.data::<UnitOfWork>()
            .map_err(|_| AppError::Internal(anyhow::anyhow!("UnitOfWork missing from request data")))
    }
}
