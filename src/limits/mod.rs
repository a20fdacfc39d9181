//! Plans, rate limits, concurrency limits and token quotas (SPEC §7).
//!
//! Every metered request passes [`layer::enforce`]: it takes a concurrency slot (held until the response body
//! ends, so an open stream counts while it is open), charges the request's cost against the per-minute rate
//! (GCRA), and stamps the rate state on the response. GraphQL operations pay their complexity
//! ([`graphql::CostLimit`]). Model calls check the monthly token quota first ([`quota`]). State lives in a
//! [`LimitStore`]: this process, or Redis when several instances must share one limit.
pub mod clock;
pub mod gcra;
pub mod graphql;
pub mod headers;
pub mod layer;
pub mod plans;
pub mod quota;
pub mod redis;
pub mod store;
pub mod streams;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

pub use clock::Clock;
pub use gcra::{Decision, Rate};
pub use plans::{PlanLimits, PlanTable};
pub use store::{LimitStore, MemoryStore, StoreError};
use store::{RateRequest, SlotRequest};

use crate::{auth::Principal, error::AppError};

/// How long a shared (Redis) concurrency slot lives without a refresh: a crashed instance's slots come back
/// after this. The store refreshes the slots its instance holds at a third of it.
pub const SLOT_TTL_MS: i64 = 30_000;

/// The rate state a response reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateState {
    /// The plan has no per-minute limit (or limits are off).
    Unlimited,
    /// The store could not be reached and the limiter fails open: the request passed uncounted.
    Degraded,
    Limited {
        decision: Decision,
        now_us: i64,
    },
}

impl RateState {
    pub fn denied(&self) -> Option<&Decision> {
        match self {
            Self::Limited { decision, .. } if !decision.allowed => Some(decision),
            _ => None,
        }
    }
}

pub struct Limiter {
    store: Arc<dyn LimitStore>,
    pub clock: Clock,
    pub plans: PlanTable,
    enabled: bool,
    fail_open: bool,
    /// Namespaces keys in a shared store (several deployments, or test runs, on one Redis).
    prefix: String,
    store_errors: AtomicU64,
    /// Token quota reservations of replies running on this instance.
    reservations: quota::Reservations,
}

impl Limiter {
    pub fn new(
        store: Arc<dyn LimitStore>,
        clock: Clock,
        plans: PlanTable,
        enabled: bool,
        fail_open: bool,
        prefix: String,
    ) -> Self {
        let reservations = quota::Reservations::default();
        Self { store, clock, plans, enabled, fail_open, prefix, store_errors: AtomicU64::new(0), reservations }
    }

    pub fn limits(&self, principal: &Principal) -> &PlanLimits {
        self.plans.get(principal.plan)
    }

    /// The caller's enforced per-minute limit (`None`: unlimited or limits off).
    pub fn per_minute(&self, principal: &Principal) -> Option<u32> {
        self.limits(principal).requests_per_minute.filter(|_| self.enabled)
    }

    /// Times the store could not be reached since start (each one let a request through, or refused it when
    /// failing closed).
    pub fn store_errors(&self) -> u64 {
        self.store_errors.load(Ordering::Relaxed)
    }

    fn rate_key(&self, account_id: &str) -> String {
        format!("{}rate:{account_id}", self.prefix)
    }

    fn slots_key(&self, account_id: &str) -> String {
        format!("{}slots:{account_id}", self.prefix)
    }

    /// Counts `cost` units against the caller's per-minute rate (0 only reads the state). A denial is not an
    /// error here: the caller answers it with the state's headers.
    pub async fn charge(&self, principal: &Principal, cost: u32) -> Result<RateState, AppError> {
        let Some(limit) = self.limits(principal).requests_per_minute.filter(|_| self.enabled) else {
            return Ok(RateState::Unlimited);
        };
        let now_us = self.clock.now_ms().saturating_mul(1000);
        match self.store.take(&self.rate_key(&principal.account_id), now_us, cost, Rate::per_minute(limit)).await {
            Ok(decision) => Ok(RateState::Limited { decision, now_us }),
            Err(err) => self.store_failed(err).map(|()| RateState::Degraded),
        }
    }

    /// Admits an HTTP request: a concurrency slot (unless it runs under another request's, as a batch operation
    /// does) and `cost` rate units, in one store round trip. A request
    /// refused a slot costs nothing; a request refused by the rate holds no slot.
    pub async fn admit(
        self: &Arc<Self>,
        principal: &Principal,
        cost: u32,
        needs_slot: bool,
    ) -> Result<Admit, AppError> {
        let limits = self.limits(principal);
        let (max_slots, per_minute) = if self.enabled {
            (limits.concurrent_requests.filter(|_| needs_slot), limits.requests_per_minute)
        } else {
            (None, None)
        };
        if max_slots.is_none() && per_minute.is_none() {
            return Ok(Admit::Admitted { permit: None, state: RateState::Unlimited });
        }
        let (slots_key, rate_key) = (self.slots_key(&principal.account_id), self.rate_key(&principal.account_id));
        let holder = uuid::Uuid::new_v4().simple().to_string();
        let now_ms = self.clock.now_ms();
        let now_us = now_ms.saturating_mul(1000);
        let slot =
            max_slots.map(|max| SlotRequest { key: &slots_key, holder: &holder, max, now_ms, ttl_ms: SLOT_TTL_MS });
        let rate = per_minute.map(|limit| RateRequest { key: &rate_key, now_us, cost, rate: Rate::per_minute(limit) });
        let admission = match self.store.admit(slot, rate).await {
            Ok(admission) => admission,
            Err(err) => {
                self.store_failed(err)?;
                return Ok(Admit::Admitted { permit: None, state: RateState::Degraded });
            }
        };
        let state = admission.rate.map_or(RateState::Unlimited, |decision| RateState::Limited { decision, now_us });
        Ok(match admission.slot {
            Some(false) => Admit::TooMany { limit: max_slots.unwrap_or(0), state },
            _ if state.denied().is_some() => Admit::RateLimited { state },
            Some(true) => Admit::Admitted { permit: Some(Permit::new(self.clone(), slots_key, holder)), state },
            None => Admit::Admitted { permit: None, state },
        })
    }

    /// Takes one of the caller's concurrent-request slots; `None` when the plan has no such limit. The slot is
    /// freed when the permit is dropped.
    pub async fn acquire(self: &Arc<Self>, principal: &Principal) -> Result<Option<Permit>, AppError> {
        let Some(max) = self.limits(principal).concurrent_requests.filter(|_| self.enabled) else { return Ok(None) };
        let key = self.slots_key(&principal.account_id);
        let holder = uuid::Uuid::new_v4().simple().to_string();
        match self.store.acquire(&key, &holder, max, self.clock.now_ms(), SLOT_TTL_MS).await {
            Ok(true) => Ok(Some(Permit::new(self.clone(), key, holder))),
            Ok(false) => Err(AppError::ConcurrencyLimited { limit: max }),
            Err(err) => self.store_failed(err).map(|()| None),
        }
    }

    /// Refuses to start a model call when the caller's monthly allowance is used up (see [`quota`]).
    pub async fn check_quota(self: &Arc<Self>, db: &crate::db::Db, principal: &Principal) -> Result<(), AppError> {
        self.reserve_quota(db, principal, 0).await.map(drop)
    }

    /// Admits a model call estimated at `estimate` tokens and reserves them until the reply settles (see
    /// [`quota`]); refuses it when the caller's monthly allowance is used up.
    pub async fn reserve_quota(
        self: &Arc<Self>,
        db: &crate::db::Db,
        principal: &Principal,
        estimate: u64,
    ) -> Result<QuotaHold, AppError> {
        self.reserve_for(db, principal.plan, &principal.account_id, estimate).await
    }

    /// The same for work that runs without a caller (tasks): the account's plan is read from the database.
    pub async fn reserve_account_quota(
        self: &Arc<Self>,
        db: &crate::db::Db,
        account_id: &str,
        estimate: u64,
    ) -> Result<QuotaHold, AppError> {
        if !self.enabled {
            return Ok(QuotaHold::none());
        }
        let account = crate::services::accounts::find(db, account_id).await?;
        let plan: crate::auth::Plan =
            account.plan.parse().map_err(|message: String| AppError::Internal(anyhow::anyhow!(message)))?;
        self.reserve_for(db, plan, account_id, estimate).await
    }

    async fn reserve_for(
        self: &Arc<Self>,
        db: &crate::db::Db,
        plan: crate::auth::Plan,
        account_id: &str,
        estimate: u64,
    ) -> Result<QuotaHold, AppError> {
        if !self.enabled {
            return Ok(QuotaHold::none());
        }
        let limits = self.plans.get(plan);
        let key = quota::reserve(db, limits, &self.reservations, account_id, estimate, chrono::Utc::now()).await?;
        Ok(QuotaHold { limiter: key.as_ref().map(|_| self.clone()), key })
    }

    /// Only checks, for work without a caller (tasks).
    pub async fn check_account_quota(self: &Arc<Self>, db: &crate::db::Db, account_id: &str) -> Result<(), AppError> {
        self.reserve_account_quota(db, account_id, 0).await.map(drop)
    }

    /// A reply has recorded its usage (or ended without a model call): its reservation goes.
    pub fn settle_quota(&self, reply_id: &str) {
        self.reservations.release(reply_id);
    }

    /// Tokens reserved for the account's running replies on this instance.
    pub fn reserved_tokens(&self, account_id: &str) -> u64 {
        self.reservations.outstanding(account_id)
    }

    /// Slots the caller holds now (for `/v2/usage`).
    pub async fn in_flight(&self, account_id: &str) -> u32 {
        self.store.held(&self.slots_key(account_id), self.clock.now_ms()).await.unwrap_or(0)
    }

    /// Fail open (default: logged and counted, the request passes) or closed (503).
    fn store_failed(&self, err: StoreError) -> Result<(), AppError> {
        let count = self.store_errors.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(error = %err, count, fail_open = self.fail_open, "rate-limit store unavailable");
        if self.fail_open { Ok(()) } else { Err(AppError::Unavailable) }
    }
}

/// A reply's token reservation. Dropped before [`QuotaHold::for_reply`] (the send failed), it is released;
/// handed to a reply, it is released when the reply settles ([`Limiter::settle_quota`]).
#[must_use]
pub struct QuotaHold {
    limiter: Option<Arc<Limiter>>,
    key: Option<String>,
}

impl QuotaHold {
    fn none() -> Self {
        Self { limiter: None, key: None }
    }

    /// The reservation now belongs to the reply, until its usage is recorded.
    pub fn for_reply(mut self, reply_id: &str) {
        if let (Some(limiter), Some(key)) = (self.limiter.take(), self.key.take()) {
            limiter.reservations.rekey(&key, reply_id);
        }
    }
}

impl Drop for QuotaHold {
    fn drop(&mut self) {
        if let (Some(limiter), Some(key)) = (&self.limiter, &self.key) {
            limiter.reservations.release(key);
        }
    }
}

/// The outcome of [`Limiter::admit`], with the rate state to report either way.
pub enum Admit {
    Admitted { permit: Option<Permit>, state: RateState },
    TooMany { limit: u32, state: RateState },
    RateLimited { state: RateState },
}

/// A held concurrency slot. Dropping it frees the slot: at once in this process, in the background for a shared
/// store (which keeps refreshing the slots its instance holds, so a long stream keeps its slot).
pub struct Permit {
    limiter: Arc<Limiter>,
    key: String,
    holder: String,
}

impl Permit {
    fn new(limiter: Arc<Limiter>, key: String, holder: String) -> Self {
        Self { limiter, key, holder }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limiter.store.release(&self.key, &self.holder);
    }
}

/// The latest rate state of one HTTP request, shared between the limits layer and the GraphQL cost extension
/// (which charges the operation's complexity after the layer charged the request's first unit).
#[derive(Clone, Debug)]
pub struct RateSlot(Arc<Mutex<RateState>>, Arc<std::sync::atomic::AtomicBool>);

impl RateSlot {
    /// The state after the layer charged the request's first unit.
    pub fn new(state: RateState) -> Self {
        Self(Arc::new(Mutex::new(state)), Arc::new(std::sync::atomic::AtomicBool::new(true)))
    }

    /// Whether the layer's unit is still unspent (true once: a GraphQL request batch's first operation uses it).
    pub fn take_prepaid(&self) -> bool {
        self.1.swap(false, Ordering::Relaxed)
    }

    pub fn get(&self) -> RateState {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set(&self, state: RateState) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = state;
    }
}
