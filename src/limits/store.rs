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

/// What [`LimitStore::admit`] decided.
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    /// `Some(true)`: a slot is held (release it). `Some(false)`: all slots were taken (the rate was then only
    /// read). `None`: no slot was asked for, or the rate refused the request (no slot is held).
    pub slot: Option<bool>,
    /// `None`: no rate was asked for.
    pub rate: Option<Decision>,
}

/// A concurrency slot to take on admission.
#[derive(Debug, Clone, Copy)]
pub struct SlotRequest<'a> {
    pub key: &'a str,
    pub holder: &'a str,
    pub max: u32,
    pub now_ms: i64,
    pub ttl_ms: i64,
}

/// A rate charge on admission.
#[derive(Debug, Clone, Copy)]
pub struct RateRequest<'a> {
    pub key: &'a str,
    pub now_us: i64,
    pub cost: u32,
    pub rate: Rate,
}

#[async_trait::async_trait]
pub trait LimitStore: Send + Sync {
    /// Admits a request in one step: takes a slot (if asked), then charges the rate (if asked). A request refused
    /// a slot is not charged (the rate is only read); a request refused by the rate gets no slot. Shared stores
    /// do it in one round trip.
    async fn admit(
        &self,
        slot: Option<SlotRequest<'_>>,
        rate: Option<RateRequest<'_>>,
    ) -> Result<Admission, StoreError> {
        let taken = match slot {
            Some(s) => Some(self.acquire(s.key, s.holder, s.max, s.now_ms, s.ttl_ms).await?),
            None => None,
        };
        let decision = match rate {
            Some(r) => {
                let cost = if taken == Some(false) { 0 } else { r.cost };
                Some(self.take(r.key, r.now_us, cost, r.rate).await?)
            }
            None => None,
        };
        if let (Some(s), Some(true), Some(d)) = (slot, taken, decision)
            && !d.allowed
        {
            // Refused by the rate: the request does not run, so it holds no slot.
            self.release(s.key, s.holder);
            return Ok(Admission { slot: None, rate: decision });
        }
        Ok(Admission { slot: taken, rate: decision })
    }
    /// Counts `cost` units against `key` at `now_us` (cost 0 only reads).
    async fn take(&self, key: &str, now_us: i64, cost: u32, rate: Rate) -> Result<Decision, StoreError>;
    /// Takes one of `max` slots for `holder`, unless all are taken. In a shared store a slot not refreshed for
    /// `ttl_ms` is considered abandoned (its instance died) and freed; the store refreshes the slots it holds.
    async fn acquire(&self, key: &str, holder: &str, max: u32, now_ms: i64, ttl_ms: i64) -> Result<bool, StoreError>;
    /// Frees a slot. Never waits: a shared store sends it in the background (batched with others).
    fn release(&self, key: &str, holder: &str);
    /// Slots held now.
    async fn held(&self, key: &str, now_ms: i64) -> Result<u32, StoreError>;
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

    async fn acquire(
        &self,
        key: &str,
        _holder: &str,
        max: u32,
        _now_ms: i64,
        _ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let held = slots.entry(key.to_owned()).or_default();
        if *held >= max {
            return Ok(false);
        }
        *held += 1;
        Ok(true)
    }

    fn release(&self, key: &str, _holder: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(held) = slots.get_mut(key) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                slots.remove(key);
            }
        }
    }

    async fn held(&self, key: &str, _now_ms: i64) -> Result<u32, StoreError> {
        Ok(self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).copied().unwrap_or(0))
    }
}
