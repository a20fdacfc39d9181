//! `usage`: the caller's month so far.
use async_graphql::{Context, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        types::usage::{DailyUsage, MonthlyTokens, RequestUsage, Usage, UsagePeriod, format_micro_usd},
    },
    limits::{RateState, plans::overage, quota},
    services::usage,
};

#[derive(Default)]
pub struct UsageQuery;

#[Object]
impl UsageQuery {
    /// Tokens used this calendar month (UTC) against the plan's allowance, overage and its cost, the per-minute
    /// rate and concurrency state, and a daily breakdown. Thresholds (80%, 100%) also fire `usage.threshold`.
    async fn usage(&self, ctx: &Context<'_>) -> async_graphql::Result<Usage> {
        let (app, principal, db) = (ctx.app().gql()?, ctx.principal().gql()?, ctx.db().gql()?);
        let now = chrono::Utc::now();
        let limits = app.limiter.limits(principal);
        let month = usage::for_month(db, &principal.account_id, now).await.gql()?;
        let (prompt, completion, calls) =
            month.map_or((0, 0, 0), |m| (m.prompt_tokens, m.completion_tokens, m.model_calls));
        let used = prompt + completion;
        let used_u = u64::try_from(used).unwrap_or(0);
        let (over, cost) = overage(limits, used_u);
        let included = limits.tokens_per_month.map(|i| i64::try_from(i).unwrap_or(i64::MAX));
        let rate = app.limiter.charge(principal, 0).await.gql()?;
        let (limit, remaining, reset_at) = match rate {
            RateState::Limited { decision, now_us } => (
                Some(i64::from(decision.limit)),
                Some(i64::from(decision.remaining)),
                chrono::DateTime::from_timestamp_micros(now_us + decision.reset_us),
            ),
            _ => (None, None, None),
        };
        let daily = usage::days_of_month(db, &principal.account_id, now).await.gql()?;
        Ok(Usage {
            plan: principal.plan.as_str().to_owned(),
            period: UsagePeriod {
                month: usage::period(now),
                start: quota::period_start(now),
                end: quota::next_period_start(now),
            },
            tokens: MonthlyTokens {
                prompt,
                completion,
                used,
                included,
                remaining: included.map(|i| (i - used).max(0)),
                overage: i64::try_from(over).unwrap_or(i64::MAX),
                overage_cost_micro_usd: i64::try_from(cost).unwrap_or(i64::MAX),
                overage_cost: format_micro_usd(cost),
                blocks_when_exhausted: included.is_some() && limits.overage_micro_usd_per_1k_tokens.is_none(),
            },
            model_calls: calls,
            requests: RequestUsage {
                limit_per_minute: limit,
                remaining,
                used_this_minute: limit.zip(remaining).map(|(l, r)| l - r),
                reset_at,
                concurrent_limit: limits.concurrent_requests.map(i64::from),
                in_flight: i64::from(app.limiter.in_flight(&principal.account_id).await),
            },
            daily: daily
                .into_iter()
                .map(|d| DailyUsage {
                    date: d.day,
                    prompt_tokens: d.prompt_tokens,
                    completion_tokens: d.completion_tokens,
                    total_tokens: d.prompt_tokens + d.completion_tokens,
                    model_calls: d.model_calls,
                })
                .collect(),
        })
    }
}
