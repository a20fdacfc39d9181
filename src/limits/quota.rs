//! Monthly token quotas. Before a model call starts, the caller's month so far is checked: a plan without
//! overage (free) is refused once its allowance is used (`quota_exceeded`, retry when the month renews); a
//! reply already streaming is never cut. Plans with overage are never refused; the excess is billed.
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

/// Refuses to start a model call when the allowance is used up and the plan has no overage.
pub async fn check(db: &Db, limits: &PlanLimits, account_id: &str, now: DateTime<Utc>) -> Result<(), AppError> {
    let Some(included) = limits.tokens_per_month else { return Ok(()) };
    if limits.overage_micro_usd_per_1k_tokens.is_some() {
        return Ok(());
    }
    let used = usage::for_month(db, account_id, now)
        .await?
        .map_or(0, |month| (month.prompt_tokens + month.completion_tokens).max(0) as u64);
    if used < included {
        return Ok(());
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
