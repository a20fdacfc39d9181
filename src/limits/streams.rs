//! Open event streams and WebSockets per account, on this instance, whatever the plan: a plan's concurrency limit
//! may be unlimited (enterprise) or limits may be off, and a long-lived connection still costs the server a socket,
//! a task and buffers. Past `OPENCLAW_MAX_STREAMS_PER_ACCOUNT` a new one is refused (429 `concurrency_limited`).
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crate::error::AppError;

#[derive(Debug)]
pub struct StreamCounter {
    max: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream; dropping it (the connection ends) frees its place.
#[derive(Debug)]
pub struct StreamGuard {
    counter: Arc<StreamCounter>,
    account_id: String,
}

impl StreamCounter {
    pub fn new(max: usize) -> Self {
        Self { max: max.max(1), open: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn refused(&self) -> AppError {
        AppError::ConcurrencyLimited { limit: u32::try_from(self.max).unwrap_or(u32::MAX) }
    }

    /// Whether the account may open another stream now (checked before work that would start one).
    pub fn check(&self, account_id: &str) -> Result<(), AppError> {
        if self.lock().get(account_id).copied().unwrap_or(0) >= self.max {
            return Err(self.refused());
        }
        Ok(())
    }

    /// Counts a stream the account opens.
    pub fn open(self: &Arc<Self>, account_id: &str) -> Result<StreamGuard, AppError> {
        let mut open = self.lock();
        let count = open.entry(account_id.to_owned()).or_insert(0);
        if *count >= self.max {
            return Err(self.refused());
        }
        *count += 1;
        Ok(StreamGuard { counter: self.clone(), account_id: account_id.to_owned() })
    }

    /// Streams the account has open here.
    pub fn open_for(&self, account_id: &str) -> usize {
        self.lock().get(account_id).copied().unwrap_or(0)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut open = self.counter.lock();
        if let Some(count) = open.get_mut(&self.account_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.account_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_account_and_freed_on_drop() {
        let counter = Arc::new(StreamCounter::new(2));
        let a = counter.open("a").expect("first");
        let b = counter.open("a").expect("second");
        assert!(counter.open("a").is_err());
        assert!(counter.check("a").is_err());
        let other = counter.open("b").expect("another account");
        drop(a);
        assert_eq!(counter.open_for("a"), 1);
        let c = counter.open("a").expect("a place came back");
        drop((b, c, other));
        assert!(counter.lock().is_empty(), "nothing left behind");
    }
}
