//! The caller's consumption: this month's tokens (with overage, exactly, in micro-dollars), the per-minute rate
//! and concurrency state, and a daily breakdown.
use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};

#[derive(SimpleObject)]
pub struct Usage {
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
    pub period: UsagePeriod,
    pub tokens: MonthlyTokens,
    /// Model calls this month (replies, task narratives, …).
    pub model_calls: i64,
    pub requests: RequestUsage,
    /// One entry per day of the month with any model call, oldest first.
    pub daily: Vec<DailyUsage>,
}

/// The calendar month (UTC) usage is counted in.
#[derive(SimpleObject)]
pub struct UsagePeriod {
    /// `YYYY-MM`.
    pub month: String,
    pub start: DateTime<Utc>,
    /// Exclusive: when the allowance renews.
    pub end: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct MonthlyTokens {
    pub prompt: i64,
    pub completion: i64,
    /// prompt + completion.
    pub used: i64,
    /// The plan's monthly allowance; null = unlimited.
    pub included: Option<i64>,
    /// Left of the allowance; null = unlimited.
    pub remaining: Option<i64>,
    /// Tokens beyond the allowance.
    pub overage: i64,
    /// What the overage costs, in integer micro-dollars (1,000,000 = $1).
    pub overage_cost_micro_usd: i64,
    /// The same, formatted: `$1.234567`.
    pub overage_cost: String,
    /// Whether model calls are refused once the allowance is used (plans without overage).
    pub blocks_when_exhausted: bool,
}

#[derive(SimpleObject)]
pub struct RequestUsage {
    /// Cost units per minute; null = unlimited.
    pub limit_per_minute: Option<i64>,
    /// Units left right now; null = unlimited.
    pub remaining: Option<i64>,
    /// Units used in the last minute (limit − remaining).
    pub used_this_minute: Option<i64>,
    /// When the whole allowance is back.
    pub reset_at: Option<DateTime<Utc>>,
    /// Requests in flight at once; null = unlimited.
    pub concurrent_limit: Option<i64>,
    /// Requests (and open streams) in flight now, this one included.
    pub in_flight: i64,
}

#[derive(SimpleObject)]
pub struct DailyUsage {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub model_calls: i64,
}

/// `$d.dddddd` from micro-dollars.
pub fn format_micro_usd(micro: u64) -> String {
    format!("${}.{:06}", micro / 1_000_000, micro % 1_000_000)
}
