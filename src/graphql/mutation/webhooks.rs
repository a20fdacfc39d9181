//! Managing webhook endpoints: create, change, delete, rotate the secret, ping, redeliver.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        inputs::{CreateWebhookInput, RotateWebhookSecretInput, UpdateWebhookInput},
        types::{Deleted, Delivery, Webhook},
    },
    services::webhooks::{self, DeliveryWithAttempts},
};

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint. The response carries the signing secret (yours, or a generated `whsec_…`) once.
    #[graphql(guard = "ScopeGuard(\"webhooks:write\")")]
    async fn create_webhook(&self, ctx: &Context<'_>, input: CreateWebhookInput) -> async_graphql::Result<Webhook> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        let model = webhooks::create(
            ctx.db().gql()?,
            &app.outbound,
            &principal.account_id,
            app.config.webhook_max_endpoints_per_account,
            input.into(),
        )
        .await
        .gql()?;
        Ok(Webhook { model, reveal_secret: true })
    }

    #[graphql(guard = "ScopeGuard(\"webhooks:write\")")]
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookInput,
    ) -> async_graphql::Result<Webhook> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        let model =
            webhooks::update(ctx.db().gql()?, &app.outbound, &principal.account_id, &id, input.into()).await.gql()?;
        Ok(Webhook { model, reveal_secret: false })
    }

    /// Deletes the endpoint with its pending deliveries and their history.
    #[graphql(guard = "ScopeGuard(\"webhooks:write\")")]
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deleted> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        webhooks::delete(db, &principal.account_id, &id).await.gql()?;
        Ok(Deleted { id, deleted: true })
    }

    /// A new secret signs from now on; the previous one keeps signing (a second signature) for the grace period.
    #[graphql(guard = "ScopeGuard(\"webhooks:write\")")]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: Option<RotateWebhookSecretInput>,
    ) -> async_graphql::Result<Webhook> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let input = input.unwrap_or_default();
        let model = webhooks::rotate_secret(db, &principal.account_id, &id, input.secret, input.grace_period_seconds)
            .await
            .gql()?;
        Ok(Webhook { model, reveal_secret: true })
    }

    /// Sends a `webhook.test` event to this endpoint now; follow the returned delivery for the outcome.
    #[graphql(guard = "ScopeGuard(\"webhooks:write\")")]
    async fn test_webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Delivery> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let (delivery, event) = webhooks::ping(db, &principal.account_id, &id).await.gql()?;
        ctx.publish(event).gql()?;
        Ok(Delivery(DeliveryWithAttempts { delivery, attempts: Vec::new() }))
    }

    /// Queues a delivery's body again (same event id, new delivery id), due now.
    #[graphql(guard = "ScopeGuard(\"webhooks:write\")")]
    async fn redeliver_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        id: ID,
        webhook_id: Option<ID>,
    ) -> async_graphql::Result<Delivery> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        let delivery =
            webhooks::redeliver(ctx.db().gql()?, &principal.account_id, &id, webhook_id.as_ref().map(|w| w.as_str()))
                .await
                .gql()?;
        ctx.work().gql()?.after_commit(app, |app| app.deliveries.wake());
        Ok(Delivery(DeliveryWithAttempts { delivery, attempts: Vec::new() }))
    }
}
