//! Creating, changing and deleting memories.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        inputs::memory::{CreateMemoryInput, UpdateMemoryInput},
        types::{Deleted, memory::Memory},
    },
    services::memories,
};

#[derive(Default)]
pub struct MemoryMutation;

#[Object]
impl MemoryMutation {
    /// Stores a memory for one of your agents; it expires after the agent's `memory.retention`.
    #[graphql(guard = "ScopeGuard(\"memories:write\")")]
    async fn create_memory(&self, ctx: &Context<'_>, input: CreateMemoryInput) -> async_graphql::Result<Memory> {
        let (app, db, principal) = (ctx.app().gql()?, ctx.db().gql()?, ctx.principal().gql()?);
        let embedder = app.embedder.as_deref();
        Ok(Memory::from(memories::create(db, embedder, &principal.account_id, input.into()).await.gql()?))
    }

    #[graphql(guard = "ScopeGuard(\"memories:write\")")]
    async fn update_memory(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateMemoryInput,
    ) -> async_graphql::Result<Memory> {
        let (app, db, principal) = (ctx.app().gql()?, ctx.db().gql()?, ctx.principal().gql()?);
        let embedder = app.embedder.as_deref();
        Ok(Memory::from(memories::update(db, embedder, &principal.account_id, &id, input.into()).await.gql()?))
    }

    #[graphql(guard = "ScopeGuard(\"memories:write\")")]
    async fn delete_memory(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deleted> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        memories::delete(db, &principal.account_id, &id).await.gql()?;
        Ok(Deleted { id, deleted: true })
    }
}
