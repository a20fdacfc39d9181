//! A request's unit of work: the database handle its writes go through, and when what it caused is announced.
//!
//! A plain request writes through the pool and announces at once. Inside an atomic batch every operation writes
//! into the batch's one transaction, and announcements (bus events, worker wake-ups, stopping in-process runs)
//! wait until that transaction commits — and are dropped if it rolls back, so no subscriber, webhook or worker
//! ever hears of a change that did not happen.
use std::sync::{Arc, Mutex};

use sea_orm::DatabaseTransaction;

use crate::{app::AppState, db::Db, error::AppError, events::Event};

/// Something to do once the unit's writes are committed.
pub type AfterCommit = Box<dyn FnOnce(&AppState) + Send>;

#[derive(Clone)]
pub struct UnitOfWork {
    db: Db,
    /// `Some` inside an atomic batch: the actions waiting for its commit.
    deferred: Option<Arc<Mutex<Vec<AfterCommit>>>>,
}

impl UnitOfWork {
    /// A request on its own: writes commit as they go, announcements go out at once.
    pub fn immediate(db: Db) -> Self {
        Self { db, deferred: None }
    }

    /// Part of an atomic batch: everything goes into `txn`, announcements wait for [`Self::take_deferred`].
    pub fn atomic(txn: Arc<DatabaseTransaction>) -> Self {
        Self { db: Db::Shared(txn), deferred: Some(Arc::default()) }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn is_atomic(&self) -> bool {
        self.deferred.is_some()
    }

    /// Runs `action` now, or after the batch commits.
    pub fn after_commit(&self, app: &AppState, action: impl FnOnce(&AppState) + Send + 'static) {
        match &self.deferred {
            None => action(app),
            Some(deferred) => deferred.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Box::new(action)),
        }
    }

    /// Announces a recorded event (bus, webhook worker, task workers) once it is committed.
    pub fn publish(&self, app: &AppState, event: Event) {
        self.after_commit(app, move |app| app.publish(event));
    }

    /// The actions waiting for the commit, in the order they were asked for.
    pub fn take_deferred(&self) -> Vec<AfterCommit> {
        match &self.deferred {
            None => Vec::new(),
            Some(deferred) => std::mem::take(&mut *deferred.lock().unwrap_or_else(|poisoned| poisoned.into_inner())),
        }
    }

    /// Refuses work that cannot wait for a commit nor be rolled back — a model run streams into its own rows as
    /// it goes — inside an atomic batch.
    pub fn refuse_in_atomic(&self, what: &str) -> Result<(), AppError> {
        if self.is_atomic() {
            return Err(AppError::BadRequest {
                code: "not_atomic",
                message: format!("{what} cannot be part of an atomic batch; send it in a separate request"),
            });
        }
        Ok(())
    }
}
