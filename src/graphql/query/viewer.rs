//! Who am I.
use async_graphql::{Context, ID, Object};

use crate::graphql::{context::ContextExt, errors::GqlResultExt, types::Viewer};

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The authenticated account, its plan and this credential's scopes.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        let principal = ctx.principal().gql()?;
        Ok(Viewer {
            account_id: ID(principal.account_id.clone()),
            plan: principal.plan,
            scopes: principal.scopes.clone(),
        })
    }
}
