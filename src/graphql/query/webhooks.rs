//! Reading the event log, webhook endpoints and their deliveries.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::{Delivery, DeliveryPage, DomainEvent, EventPage, Webhook, WebhookPage},
    },
    services::{cursor::CursorRequest, events, pagination::PageRequest, webhooks},
};

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The account's events, oldest first (pass `nextCursor`, or the last id you processed, as `after`).
    #[graphql(
        guard = "ScopeGuard(\"events:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<String>>,
        after: Option<String>,
        limit: Option<i64>,
    ) -> async_graphql::Result<EventPage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let cursor = CursorRequest::new(after, limit).gql()?;
        let types = events::parse_types("types", &types.unwrap_or_default()).gql()?;
        let (items, info) = events::list(db, &principal.account_id, &types, cursor).await.gql()?;
        Ok(EventPage { events: items.iter().map(DomainEvent::from).collect(), pagination: info.into() })
    }

    #[graphql(guard = "ScopeGuard(\"events:read\")")]
    async fn event(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<DomainEvent> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(DomainEvent::from(&events::get(db, &principal.account_id, &id).await.gql()?))
    }

    #[graphql(
        guard = "ScopeGuard(\"webhooks:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
        page: Option<i64>,
    ) -> async_graphql::Result<WebhookPage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let request = PageRequest::new(page, limit).gql()?;
        let (rows, total) = webhooks::list(db, &principal.account_id, request).await.gql()?;
        Ok(WebhookPage {
            webhooks: rows.into_iter().map(|model| Webhook { model, reveal_secret: false }).collect(),
            pagination: request.info(total).into(),
        })
    }

    #[graphql(guard = "ScopeGuard(\"webhooks:read\")")]
    async fn webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Webhook> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Webhook { model: webhooks::get(db, &principal.account_id, &id).await.gql()?, reveal_secret: false })
    }

    /// An endpoint's deliveries, newest first, each with every attempt.
    #[graphql(
        guard = "ScopeGuard(\"webhooks:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        status: Option<String>,
        after: Option<String>,
        limit: Option<i64>,
    ) -> async_graphql::Result<DeliveryPage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let cursor = CursorRequest::new(after, limit).gql()?;
        let (items, info) = webhooks::deliveries(db, &principal.account_id, &webhook_id, status, cursor).await.gql()?;
        Ok(DeliveryPage { deliveries: items.into_iter().map(Delivery).collect(), pagination: info.into() })
    }

    #[graphql(guard = "ScopeGuard(\"webhooks:read\")")]
    async fn webhook_delivery(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Delivery> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Delivery(webhooks::delivery(db, &principal.account_id, &id).await.gql()?))
    }
}
