//! Opening, archiving and deleting conversations; sending messages and cancelling replies.
use async_graphql::{Context, ID, Object};

use crate::{
    error::AppError,
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        inputs::{CreateConversationInput, SendMessageInput},
        types::{Conversation, Deleted, Message, SendMessagePayload},
    },
    runs,
    services::{conversations, messages},
};

#[derive(Default)]
pub struct ConversationMutation;

#[Object]
impl ConversationMutation {
    /// Opens a conversation with one of the caller's agents; records `conversation.created`.
    #[graphql(guard = "ScopeGuard(\"conversations:write\")")]
    async fn create_conversation(
        &self,
        ctx: &Context<'_>,
        input: CreateConversationInput,
    ) -> async_graphql::Result<Conversation> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let new = input.into_new().gql()?;
        let (created, event) = conversations::create(db, &principal.account_id, new).await.gql()?;
        ctx.publish(event).gql()?;
        Ok(Conversation(created))
    }

    /// Archived conversations keep their history but take no new messages.
    #[graphql(guard = "ScopeGuard(\"conversations:write\")")]
    async fn archive_conversation(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Conversation> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Conversation(conversations::set_status(db, &principal.account_id, &id, "archived").await.gql()?))
    }

    #[graphql(guard = "ScopeGuard(\"conversations:write\")")]
    async fn unarchive_conversation(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Conversation> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Conversation(conversations::set_status(db, &principal.account_id, &id, "active").await.gql()?))
    }

    /// Deletes the conversation and its messages; a running reply is cancelled first.
    #[graphql(guard = "ScopeGuard(\"conversations:write\")")]
    async fn delete_conversation(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deleted> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        conversations::delete(ctx.db().gql()?, &principal.account_id, &id).await.gql()?;
        let deleted = id.to_string();
        ctx.work().gql()?.after_commit(app, move |app| {
            // Replies still queued never run: their token reservations go with them.
            for reply_id in app.runs.abort_conversation(&deleted) {
                app.limiter.settle_quota(&reply_id);
            }
        });
        Ok(Deleted { id, deleted: true })
    }

    /// Stores the user message (`message.received`) and starts the agent's reply, detached from this request.
    /// Returns at once with the reply's id; follow it with the `messageStream` subscription, or select `reply`
    /// to wait for it. A busy conversation answers `conversation_busy` unless `whileBusy: enqueue`.
    #[graphql(guard = "ScopeGuard(\"conversations:write\")")]
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        input: SendMessageInput,
    ) -> async_graphql::Result<SendMessagePayload> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        ctx.work().gql()?.refuse_in_atomic("sending a message (it starts a model run)").gql()?;
        let new = input.into_new();
        messages::validate(&new, app.config.max_message_chars).gql()?;
        // Refuse a model no provider serves before storing anything.
        let conversation = conversations::get(ctx.db().gql()?, &principal.account_id, &conversation_id).await.gql()?;
        messages::check_attachments(ctx.db().gql()?, &app.outbound, &principal.account_id, &new).await.gql()?;
        runs::check_model(app, &conversation).await.gql()?;
        // A free account whose month is used up starts no model call; a reply already streaming finishes. The
        // reply's estimated cost is reserved until its usage is recorded, so a burst cannot overshoot the month.
        let estimate = runs::estimate::reply_tokens(app, &conversation, &new.content).await.gql()?;
        let hold = app.limiter.reserve_quota(ctx.db().gql()?, principal, estimate).await.gql()?;
        let sent =
            messages::store_user_message(ctx.db().gql()?, &principal.account_id, &conversation_id, new).await.gql()?;
        hold.for_reply(&sent.reply.id);
        // Under an `Idempotency-Key`, the key learns the reply now: a retry after this process dies answers with
        // this exchange instead of storing the message again.
        if let Some(claim) = ctx.data_opt::<crate::services::idempotency::Claim>()
            && let Err(err) = crate::services::idempotency::note_reply(ctx.db().gql()?, claim, &sent.reply.id).await
        {
            tracing::warn!(error = %err, "could not note a reply on its idempotency key");
        }
        runs::start(app, &sent);
        Ok(SendMessagePayload { message: sent.message, reply: sent.reply })
    }

    /// Stops the conversation's running reply; its partial content is kept with status `cancelled`. Returns the
    /// stored reply. `no_active_reply` (409) when nothing is running.
    #[graphql(guard = "ScopeGuard(\"conversations:write\")")]
    async fn cancel_reply(&self, ctx: &Context<'_>, conversation_id: ID) -> async_graphql::Result<Message> {
        let (app, principal) = (ctx.app().gql()?, ctx.principal().gql()?);
        ctx.work().gql()?.refuse_in_atomic("cancelling a reply (it waits for the model run to stop)").gql()?;
        let conversation = conversations::get(ctx.db().gql()?, &principal.account_id, &conversation_id).await.gql()?;
        let no_active = || AppError::Conflict {
            code: "no_active_reply",
            message: "no reply is being generated in this conversation".into(),
        };
        let reply_id = conversation.active_reply_id.ok_or_else(no_active).gql()?;
        let reply = messages::get(ctx.db().gql()?, &principal.account_id, &reply_id).await.gql()?;
        if !app.runs.cancel(&reply_id) {
            return Err(no_active().into_graphql());
        }
        Ok(Message(runs::wait(app, &reply).await.gql()?))
    }
}
