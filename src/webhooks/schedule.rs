//! When a failed delivery is tried again: exponential backoff with jitter over about three days, never earlier
//! than the receiver's `Retry-After`.
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// Delays after attempt 1, 2, …: 10 s, 1 min, 5 min, 30 min, 1 h, 3 h, 6 h, 12 h, 24 h, 24 h — about 2.9 days in
/// all, then the delivery has failed (11 attempts).
pub const BACKOFF_SECS: [u64; 10] = [10, 60, 300, 1_800, 3_600, 10_800, 21_600, 43_200, 86_400, 86_400];

/// The retry schedule. `scale` shrinks it for tests (0.001 turns a day into 86 s); `max_attempts` bounds it.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub scale: f64,
    pub max_attempts: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Self { scale: 1.0, max_attempts: BACKOFF_SECS.len() as u32 + 1 }
    }
}

/// The longest `Retry-After` honoured; beyond it the schedule's own delay applies.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

impl Schedule {
    /// The delay after failed attempt number `attempt` (1-based), or `None` when no attempts are left.
    /// Jitter of ±20% spreads retries of many deliveries that failed together.
    pub fn delay_after(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let index = (attempt as usize).saturating_sub(1).min(BACKOFF_SECS.len() - 1);
        let base = BACKOFF_SECS[index] as f64 * self.scale.max(0.0);
        let jittered = base * rand::rng().random_range(0.8..=1.2);
        let delay = Duration::from_secs_f64(jittered);
        Some(match retry_after {
            Some(asked) => delay.max(asked.min(MAX_RETRY_AFTER)),
            None => delay,
        })
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    (when - now).to_std().ok().or(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_spans_about_three_days() {
        let total: u64 = BACKOFF_SECS.iter().sum();
        assert!((2 * 86_400..4 * 86_400).contains(&total), "{total}");
        let schedule = Schedule::default();
        let first = schedule.delay_after(1, None).expect("retries left");
        assert!(first >= Duration::from_secs(8) && first <= Duration::from_secs(12), "{first:?}");
        assert!(schedule.delay_after(11, None).is_none());
        assert!(schedule.delay_after(10, None).is_some());
    }

    #[test]
    fn retry_after_is_honoured_but_bounded() {
        let schedule = Schedule::default();
        let delay = schedule.delay_after(1, Some(Duration::from_secs(120))).expect("retries left");
        assert!(delay >= Duration::from_secs(120));
        let capped = schedule.delay_after(1, Some(Duration::from_secs(10 * 86_400))).expect("retries left");
        assert!(capped <= MAX_RETRY_AFTER);
    }

    #[test]
    fn retry_after_parses_both_forms() {
        let now = DateTime::parse_from_rfc3339("2026-03-10T10:00:00Z").expect("valid").with_timezone(&Utc);
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Tue, 10 Mar 2026 10:01:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
