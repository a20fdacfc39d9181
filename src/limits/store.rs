//! Where limiter state lives: this process ([`MemoryStore`]) or Redis ([`super::redis::RedisStore`]), so that
//! several instances share one limit. Stores only do atomic read-modify-writes; the arithmetic is in
//! [`super::gcra`].
use std::{collections::HashMap, sync::Mutex};

use super::gcra::{self, Decision, Rate};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the limit store is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait LimitStore: Send + Sync {
    /// Counts `cost` units against `key` at `now_us` (cost 0 only reads).
    async fn take(&self, key: &str, now_us: i64, cost: u32, rate: Rate) -> Result<Decision, StoreError>;
    /// Takes one of `max` slots for `holder`, unless all are taken. A slot not refreshed for `ttl_ms` is
    /// considered abandoned (its instance died) and freed.
    async fn acquire(&self, key: &str, holder: &str, max: u32, now_ms: i64, ttl_ms: i64) -> Result<bool, StoreError>;
    /// Keeps a held slot alive.
    async fn refresh(&self, key: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<(), StoreError>;
    async fn release(&self, key: &str, holder: &str) -> Result<(), StoreError>;
    /// Slots held now.
    async fn held(&self, key: &str, now_ms: i64) -> Result<u32, StoreError>;
    /// Whether slots outlive their holder (shared stores), so holders must refresh them.
    fn needs_refresh(&self) -> bool;
}

/// State in this process. Slots are released by their guards, so they never need to expire.
#[derive(Default)]
pub struct MemoryStore {
    tats: Mutex<HashMap<String, i64>>,
    slots: Mutex<HashMap<String, u32>>,
}

#[async_trait::async_trait]
impl LimitStore for MemoryStore {
    async fn take(&self, key: &str, now_us: i64, cost: u32, rate: Rate) -> Result<Decision, StoreError> {
        let mut tats = self.tats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (decision, stored) = gcra::apply(tats.get(key).copied(), now_us, cost, rate);
        if cost > 0 && decision.allowed {
            tats.insert(key.to_owned(), stored);
        }
        Ok(decision)
    }

    async fn acquire(&self, key: &str, _holder: &str, max: u32, _now_ms: i64, _ttl_ms: i64) -> Result<bool, StoreError> {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let held = slots.entry(key.to_owned()).or_default();
        if *held >= max {
            return Ok(false);
        }
        *held += 1;
        Ok(true)
    }

    async fn refresh(&self, _key: &str, _holder: &str, _now_ms: i64, _ttl_ms: i64) -> Result<(), StoreError> {
        Ok(())
    }

    async fn release(&self, key: &str, _holder: &str) -> Result<(), StoreError> {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(held) = slots.get_mut(key) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                slots.remove(key);
            }
        }
        Ok(())
    }

    async fn held(&self, key: &str, _now_ms: i64) -> Result<u32, StoreError> {
        Ok(self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).copied().unwrap_or(0))
    }

    fn needs_refresh(&self) -> bool {
        false
    }
}
