//! Reading conversations and messages.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::{Conversation, ConversationPage, Message, MessagePage},
    },
    services::{
        conversations::{self, ConversationFilter},
        cursor::CursorRequest,
        messages,
    },
};

#[derive(Default)]
pub struct ConversationQuery;

#[Object]
impl ConversationQuery {
    /// One of the caller's conversations (`not_found` for another tenant's).
    #[graphql(guard = "ScopeGuard(\"conversations:read\")")]
    async fn conversation(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Conversation> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Conversation(conversations::get(db, &principal.account_id, &id).await.gql()?))
    }

    /// The caller's conversations, newest first, optionally for one agent, end user or status.
    #[graphql(
        guard = "ScopeGuard(\"conversations:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        agent_id: Option<ID>,
        user_id: Option<String>,
        status: Option<String>,
        after: Option<String>,
        limit: Option<i64>,
    ) -> async_graphql::Result<ConversationPage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let cursor = CursorRequest::new(after, limit).gql()?;
        let filter = ConversationFilter { agent_id: agent_id.map(|a| a.0), user_id, status };
        let (items, info) = conversations::list(db, &principal.account_id, filter, &cursor).await.gql()?;
        Ok(ConversationPage { conversations: items.into_iter().map(Conversation).collect(), pagination: info.into() })
    }

    /// One message, by id.
    #[graphql(guard = "ScopeGuard(\"conversations:read\")")]
    async fn message(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Message> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Message(messages::get(db, &principal.account_id, &id).await.gql()?))
    }

    /// A conversation's messages, oldest first.
    #[graphql(
        guard = "ScopeGuard(\"conversations:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        after: Option<String>,
        limit: Option<i64>,
    ) -> async_graphql::Result<MessagePage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let cursor = CursorRequest::new(after, limit).gql()?;
        let (items, info) = messages::list(db, &principal.account_id, &conversation_id, &cursor).await.gql()?;
        Ok(MessagePage { messages: items.into_iter().map(Message).collect(), pagination: info.into() })
    }
}
