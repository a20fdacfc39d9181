//! The account's support tickets.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::ticket::{Ticket, TicketPage},
    },
    services::{pagination::PageRequest, tickets},
};

#[derive(Default)]
pub struct TicketQuery;

#[Object]
impl TicketQuery {
    /// Newest first; `status` filters.
    #[graphql(
        guard = "ScopeGuard(\"tickets:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
        limit: Option<i64>,
        page: Option<i64>,
    ) -> async_graphql::Result<TicketPage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let request = PageRequest::new(page, limit).gql()?;
        let (rows, total) = tickets::list(db, &principal.account_id, status.as_deref(), request).await.gql()?;
        Ok(TicketPage { tickets: rows.into_iter().map(Ticket::from).collect(), pagination: request.info(total).into() })
    }

    #[graphql(guard = "ScopeGuard(\"tickets:read\")")]
    async fn ticket(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Ticket> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Ticket::from(tickets::get(db, &principal.account_id, &id).await.gql()?))
    }
}
