//! The limiter's clock: the system's, or a manual one that tests move by hand (a minute passes in one call, and a
//! clock can be made to jump backwards).
use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

#[derive(Clone, Default)]
pub struct Clock {
    /// `Some`: milliseconds since the epoch, set by hand.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// A clock that stands still at `start_ms` until moved.
    pub fn manual(start_ms: i64) -> Self {
        Self { manual: Some(Arc::new(AtomicI64::new(start_ms))) }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(ms) => ms.load(Ordering::SeqCst),
            None => chrono::Utc::now().timestamp_millis(),
        }
    }

    /// Moves a manual clock by `delta_ms` (negative: backwards). No effect on the system clock.
    pub fn advance(&self, delta_ms: i64) {
        if let Some(ms) = &self.manual {
            ms.fetch_add(delta_ms, Ordering::SeqCst);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            Some(ms) => write!(f, "Clock::manual({})", ms.load(Ordering::SeqCst)),
            None => f.write_str("Clock::system"),
        }
    }
}
