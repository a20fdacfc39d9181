//! The plan table (SPEC §7): what each plan may do. One table, in config (`[plans.free]`, `[plans.pro]`,
//! `[plans.enterprise]`), with the SPEC's values as defaults. An absent limit means unlimited.
use serde::Deserialize;

use crate::auth::Plan;

/// One plan's limits. Unsigned on purpose: a negative limit in a config file is refused at start-up.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// Request cost units per minute (a REST call is 1, a GraphQL operation its complexity).
    pub requests_per_minute: Option<u32>,
    /// Requests (and open streams) in flight at once.
    pub concurrent_requests: Option<u32>,
    /// Operations in one `POST /v2/batch` or GraphQL request batch.
    pub batch_size: u32,
    /// Prompt + completion tokens included per calendar month (UTC).
    pub tokens_per_month: Option<u64>,
    /// Price of tokens beyond the allowance, in micro-dollars per 1,000 tokens. `None`: model calls are refused
    /// once the allowance is used (`quota_exceeded`).
    pub overage_micro_usd_per_1k_tokens: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PlanTable {
    pub free: PlanLimits,
    pub pro: PlanLimits,
    pub enterprise: PlanLimits,
}

impl Default for PlanTable {
    fn default() -> Self {
        Self {
            free: PlanLimits {
                requests_per_minute: Some(60),
                concurrent_requests: Some(5),
                batch_size: 10,
                tokens_per_month: Some(10_000),
                overage_micro_usd_per_1k_tokens: None,
            },
            pro: PlanLimits {
                requests_per_minute: Some(600),
                concurrent_requests: Some(20),
                batch_size: 50,
                tokens_per_month: Some(1_000_000),
                // $0.02 per 1K tokens.
                overage_micro_usd_per_1k_tokens: Some(20_000),
            },
            enterprise: PlanLimits {
                requests_per_minute: None,
                concurrent_requests: None,
                batch_size: 100,
                tokens_per_month: None,
                overage_micro_usd_per_1k_tokens: None,
            },
        }
    }
}

impl PlanTable {
    pub fn get(&self, plan: Plan) -> &PlanLimits {
        match plan {
            Plan::Free => &self.free,
            Plan::Pro => &self.pro,
            Plan::Enterprise => &self.enterprise,
        }
    }

    /// Refuses tables that would lock every caller out or make no sense.
    pub fn validate(&self) -> Result<(), String> {
        for plan in [Plan::Free, Plan::Pro, Plan::Enterprise] {
            let limits = self.get(plan);
            let zero = |name: &str| format!("plans.{plan}.{name} must be at least 1 (omit it for unlimited)");
            if limits.requests_per_minute == Some(0) {
                return Err(zero("requests_per_minute"));
            }
            if limits.concurrent_requests == Some(0) {
                return Err(zero("concurrent_requests"));
            }
            if limits.batch_size == 0 {
                return Err(format!("plans.{plan}.batch_size must be at least 1"));
            }
        }
        Ok(())
    }
}

/// Tokens beyond the allowance and what they cost, exactly: integer micro-dollars, rounded up to the micro-dollar
/// (at $0.02 per 1K tokens every token costs exactly 20 micro-dollars, so nothing is rounded).
pub fn overage(limits: &PlanLimits, used_tokens: u64) -> (u64, u64) {
    let Some(included) = limits.tokens_per_month else { return (0, 0) };
    let over = used_tokens.saturating_sub(included);
    let cost = limits
        .overage_micro_usd_per_1k_tokens
        .map_or(0, |per_1k| u64::try_from((u128::from(over) * u128::from(per_1k)).div_ceil(1000)).unwrap_or(u64::MAX));
    (over, cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pro_overage_is_exact_integer_micro_dollars() {
        let pro = PlanTable::default().pro;
        assert_eq!(overage(&pro, 999_999), (0, 0));
        assert_eq!(overage(&pro, 1_000_000), (0, 0));
        assert_eq!(overage(&pro, 1_000_001), (1, 20), "one token over costs 20 micro-dollars");
        assert_eq!(overage(&pro, 1_001_000), (1_000, 20_000), "1K tokens over cost $0.02");
        assert_eq!(overage(&pro, 51_000_000), (50_000_000, 1_000_000_000), "50M tokens over cost $1,000");
        assert_eq!(overage(&pro, u64::MAX).1, u64::MAX, "saturates instead of wrapping");
    }

    #[test]
    fn free_and_enterprise_have_no_overage() {
        let table = PlanTable::default();
        assert_eq!(overage(&table.free, 50_000), (40_000, 0), "free counts the excess but never bills it");
        assert_eq!(overage(&table.enterprise, u64::MAX), (0, 0));
    }

    #[test]
    fn a_negative_or_zero_limit_is_refused() {
        let negative = toml::from_str::<PlanTable>("[free]\nrequests_per_minute = -1\nbatch_size = 10\n");
        assert!(negative.is_err(), "negative limits do not parse");
        let zero: PlanTable = toml::from_str("[free]\nrequests_per_minute = 0\nbatch_size = 10\n").expect("parses");
        assert!(matches!(zero.validate(), Err(message) if message.contains("plans.free.requests_per_minute")));
        assert!(PlanTable::default().validate().is_ok());
    }
}
