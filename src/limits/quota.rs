//! Monthly token quotas. Before a model call starts, the caller's month so far is checked: a plan without
//! overage (free) is refused once its allowance is used (`quota_exceeded`, retry when the month renews); a
//! reply already streaming is never cut. Plans with overage are never refused; the excess is billed.
//!
//! Usage is recorded when a reply ends, so replies started together would all see the same month and all pass.
//! Each admitted reply therefore reserves an estimate (its prompt plus its `maxTokens`) until its usage is recorded,
//! and a reply is admitted only while the recorded usage plus the reservations still leave some allowance: a burst
//! overshoots the allowance by about one reply's reservation (the estimate leaves out attachments and the further
//! calls of a tool loop, and a reply settling while a send reads the month is briefly counted in neither). Reservations
//! are held by this instance (several instances each admit up to that bound), and lapse after
//! [`RESERVATION_MAX_AGE`] should a settle ever be missed.
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Datelike, TimeZone, Utc};

use super::PlanLimits;
use crate::{db::Db, error::AppError, services::usage};

/// The first instant of the month after `at` (UTC).
pub fn next_period_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if at.month() == 12 { (at.year() + 1, 1) } else { (at.year(), at.month() + 1) };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single().unwrap_or(at)
}

/// The first instant of `at`'s month (UTC).
pub fn period_start(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0).single().unwrap_or(at)
}

/// A reservation older than this is dropped (a run cannot take this long; a missed settle must not leak forever).
pub const RESERVATION_MAX_AGE: Duration = Duration::from_secs(3600);

/// Tokens promised to replies that have started but not yet recorded their usage, by reservation key.
#[derive(Default)]
pub struct Reservations {
    held: Mutex<HashMap<String, Reservation>>,
}

struct Reservation {
    account_id: String,
    tokens: u64,
    since: Instant,
}

impl Reservations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Reservation>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves a reservation to another key (from the request's to the reply's).
    pub fn rekey(&self, from: &str, to: &str) {
        let mut held = self.lock();
        if let Some(reservation) = held.remove(from) {
            held.insert(to.to_owned(), reservation);
        }
    }

    pub fn release(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Tokens reserved for the account now.
    pub fn outstanding(&self, account_id: &str) -> u64 {
        outstanding_in(&mut self.lock(), account_id)
    }
}

/// The account's live reservations in `held` (lapsed ones are dropped on the way).
fn outstanding_in(held: &mut HashMap<String, Reservation>, account_id: &str) -> u64 {
    held.retain(|_, r| r.since.elapsed() < RESERVATION_MAX_AGE);
    held.values().filter(|r| r.account_id == account_id).map(|r| r.tokens).sum()
}

/// Admits a model call estimated at `estimate` tokens and reserves them under a new key (returned), or refuses it
/// when the allowance is used up (recorded usage plus what other replies reserved) and the plan has no overage.
/// `None`: nothing to reserve (no quota, or overage billed). An `estimate` of 0 only checks.
pub async fn reserve(
    db: &Db,
    limits: &PlanLimits,
    reservations: &Reservations,
    account_id: &str,
    estimate: u64,
    now: DateTime<Utc>,
) -> Result<Option<String>, AppError> {
    let Some(included) = limits.tokens_per_month else { return Ok(None) };
    if limits.overage_micro_usd_per_1k_tokens.is_some() {
        return Ok(None);
    }
    let used = usage::for_month(db, account_id, now)
        .await?
        .map_or(0, |month| (month.prompt_tokens + month.completion_tokens).max(0) as u64);
    {
        // The check and the reservation under one lock: concurrent sends on this instance see each other.
        let mut held = reservations.lock();
        if used.saturating_add(outstanding_in(&mut held, account_id)) < included {
            if estimate == 0 {
                return Ok(None);
            }
            let key = format!("rsv_{}", uuid::Uuid::new_v4().simple());
            let reservation =
                Reservation { account_id: account_id.to_owned(), tokens: estimate, since: Instant::now() };
            held.insert(key.clone(), reservation);
            return Ok(Some(key));
        }
    }
    let renews = next_period_start(now);
    Err(AppError::QuotaExceeded {
        included,
        renews: renews.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        retry_after_secs: (renews - now).num_seconds().max(1) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_calendar_months_in_utc() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(next_period_start(at), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(period_start(at), Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        let feb = Utc.with_ymd_and_hms(2028, 2, 29, 12, 0, 0).unwrap();
        assert_eq!(next_period_start(feb), Utc.with_ymd_and_hms(2028, 3, 1, 0, 0, 0).unwrap());
    }
}
