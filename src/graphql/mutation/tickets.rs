//! Updating tickets (agents open them through the `ticket-system` skill).
use async_graphql::{Context, ID, InputObject, Object};

use crate::{
    graphql::{context::ContextExt, errors::GqlResultExt, guards::ScopeGuard, types::ticket::Ticket},
    services::tickets::{self, TicketPatch},
};

/// `PATCH /v2/tickets/{ticketId}` body.
#[derive(InputObject)]
pub struct UpdateTicketInput {
    /// `open`, `in_progress`, `resolved` or `closed`.
    pub status: Option<String>,
    /// `low`, `medium`, `high` or `urgent`.
    pub priority: Option<String>,
}

#[derive(Default)]
pub struct TicketMutation;

#[Object]
impl TicketMutation {
    #[graphql(guard = "ScopeGuard(\"tickets:write\")")]
    async fn update_ticket(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTicketInput,
    ) -> async_graphql::Result<Ticket> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let patch = TicketPatch { status: input.status, priority: input.priority };
        Ok(Ticket::from(tickets::update(db, &principal.account_id, &id, patch).await.gql()?))
    }
}
