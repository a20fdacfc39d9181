//! Token usage per account per calendar month (UTC): every model call adds its prompt and completion tokens in
//! the transaction that stores the reply. The plans issue enforces quotas on these totals.
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use crate::{error::AppResult, llm::Usage};
use entity::usage_monthly::{self, Column};

/// `YYYY-MM` of `at`.
pub fn period(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// Adds one model call's tokens to the account's month.
pub async fn add(db: &impl ConnectionTrait, account_id: &str, at: DateTime<Utc>, usage: Usage) -> AppResult<()> {
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
