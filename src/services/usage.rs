//! Token usage per account per calendar month (UTC) and per day: every model call adds its prompt and completion
//! tokens in the transaction that stores its result. Quotas read the monthly totals; crossing 80% and 100% of
//! the plan's allowance records a `usage.threshold` event in the same transaction.
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use crate::{
    auth::Plan,
    error::AppResult,
    events::{Event, EventKind},
    limits::PlanTable,
    llm::Usage,
    services::events,
};
use entity::{
    account, usage_daily,
    usage_monthly::{self, Column},
};

/// `YYYY-MM` of `at`.
pub fn period(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// Percentages of the allowance that announce themselves.
pub const THRESHOLDS: [u64; 2] = [80, 100];

/// `YYYY-MM-DD` of `at`.
pub fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Adds one model call's tokens to the account's month and day, and records the `usage.threshold` events the call
/// crossed (returned, to publish after commit). Run it inside the transaction that stores the call's result.
pub async fn add(
    db: &impl ConnectionTrait,
    plans: &PlanTable,
    account_id: &str,
    at: DateTime<Utc>,
    usage: Usage,
) -> AppResult<Vec<Event>> {
    add_to_month(db, account_id, at, usage).await?;
    add_to_day(db, account_id, at, usage).await?;
    thresholds_crossed(db, plans, account_id, at, usage).await
}

async fn add_to_day(db: &impl ConnectionTrait, account_id: &str, at: DateTime<Utc>, usage: Usage) -> AppResult<()> {
    let (prompt, completion) = (usage.prompt_tokens as i64, usage.completion_tokens as i64);
    let row = usage_daily::ActiveModel {
        account_id: Set(account_id.to_owned()),
        day: Set(day(at)),
        prompt_tokens: Set(prompt),
        completion_tokens: Set(completion),
        model_calls: Set(1),
        updated_at: Set(at),
    };
    use usage_daily::Column as Daily;
    usage_daily::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Daily::AccountId, Daily::Day])
                .value(Daily::PromptTokens, Expr::col((usage_daily::Entity, Daily::PromptTokens)).add(prompt))
                .value(
                    Daily::CompletionTokens,
                    Expr::col((usage_daily::Entity, Daily::CompletionTokens)).add(completion),
                )
                .value(Daily::ModelCalls, Expr::col((usage_daily::Entity, Daily::ModelCalls)).add(1))
                .value(Daily::UpdatedAt, at)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The thresholds this call's tokens pushed the month over, as recorded events.
async fn thresholds_crossed(
    db: &impl ConnectionTrait,
    plans: &PlanTable,
    account_id: &str,
    at: DateTime<Utc>,
    usage: Usage,
) -> AppResult<Vec<Event>> {
    let Some(account) = account::Entity::find_by_id(account_id).one(db).await? else { return Ok(Vec::new()) };
    let Ok(plan) = account.plan.parse::<Plan>() else { return Ok(Vec::new()) };
    let Some(included) = plans.get(plan).tokens_per_month.filter(|included| *included > 0) else {
        return Ok(Vec::new());
    };
    let after: u64 = for_month(db, account_id, at)
        .await?
        .map_or(0, |m| u64::try_from(m.prompt_tokens + m.completion_tokens).unwrap_or(0));
    let before = after.saturating_sub(usage.prompt_tokens + usage.completion_tokens);
    let mut events = Vec::new();
    for percent in THRESHOLDS {
        // Integer comparison: `used / included >= percent / 100` without rounding.
        let reached = |used: u64| u128::from(used) * 100 >= u128::from(included) * u128::from(percent);
        if !reached(before) && reached(after) {
            let event = Event::new(
                EventKind::UsageThreshold,
                account_id,
                account_id,
                serde_json::json!({ "period": period(at), "threshold": percent, "plan": plan.as_str(),
                                    "usedTokens": after, "includedTokens": included }),
            );
            events::record(db, &event).await?;
            events.push(event);
        }
    }
    Ok(events)
}

async fn add_to_month(db: &impl ConnectionTrait, account_id: &str, at: DateTime<Utc>, usage: Usage) -> AppResult<()> {
    let (prompt, completion) = (usage.prompt_tokens as i64, usage.completion_tokens as i64);
    let row = usage_monthly::ActiveModel {
        account_id: Set(account_id.to_owned()),
        period: Set(period(at)),
        prompt_tokens: Set(prompt),
        completion_tokens: Set(completion),
        model_calls: Set(1),
        updated_at: Set(at),
    };
    usage_monthly::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::AccountId, Column::Period])
                .value(Column::PromptTokens, Expr::col((usage_monthly::Entity, Column::PromptTokens)).add(prompt))
                .value(
                    Column::CompletionTokens,
                    Expr::col((usage_monthly::Entity, Column::CompletionTokens)).add(completion),
                )
                .value(Column::ModelCalls, Expr::col((usage_monthly::Entity, Column::ModelCalls)).add(1))
                .value(Column::UpdatedAt, at)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The account's totals for the month of `at` (zeros when nothing was used).
pub async fn for_month(
    db: &impl ConnectionTrait,
    account_id: &str,
    at: DateTime<Utc>,
) -> AppResult<Option<usage_monthly::Model>> {
    Ok(usage_monthly::Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Period.eq(period(at)))
        .one(db)
        .await?)
}

/// The account's days of the month of `at`, oldest first.
pub async fn days_of_month(
    db: &impl ConnectionTrait,
    account_id: &str,
    at: DateTime<Utc>,
) -> AppResult<Vec<usage_daily::Model>> {
    use sea_orm::QueryOrder;
    Ok(usage_daily::Entity::find()
        .filter(usage_daily::Column::AccountId.eq(account_id))
        .filter(usage_daily::Column::Day.starts_with(format!("{}-", period(at))))
        .order_by_asc(usage_daily::Column::Day)
        .all(db)
        .await?)
}
