//! Operator mutations across accounts, behind the `admin` scope (never implied by `*`).
use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::{
    auth::{Plan, principal::ADMIN_SCOPE},
    error::AppError,
    graphql::{context::ContextExt, errors::GqlResultExt, guards::ScopeGuard},
    services::accounts,
};

/// An account as operators see it.
#[derive(SimpleObject)]
pub struct AccountInfo {
    pub id: String,
    pub name: String,
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `{"plan": "pro"}`.
#[derive(InputObject)]
pub struct AccountPlanInput {
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Moves an account (by id or name) to another plan. Its limits change on this instance's next request and
    /// on other instances once their key cache expires (`api_key_cache_secs`).
    #[graphql(guard = "ScopeGuard(ADMIN_SCOPE)")]
    async fn set_account_plan(
        &self,
        ctx: &Context<'_>,
        account: String,
        input: AccountPlanInput,
    ) -> async_graphql::Result<AccountInfo> {
        let (app, db) = (ctx.app().gql()?, ctx.db().gql()?);
        let plan: Plan = input.plan.parse().map_err(|message: String| AppError::validation("plan", message)).gql()?;
        let found = accounts::find(db, &account).await.gql()?;
        let updated = accounts::set_plan(db, found, plan).await.gql()?;
        // After the commit: a lookup in between would cache the old plan again.
        ctx.work().gql()?.after_commit(app, |app| app.auth.forget_cached());
        Ok(AccountInfo { id: updated.id, name: updated.name, plan: updated.plan, created_at: updated.created_at })
    }
}
