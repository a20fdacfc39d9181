//! The caller's memories: listing, full-text search, one by id.
use async_graphql::{Context, ID, Object};

use crate::{
    error::AppError,
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::memory::{Memory, MemoryPage},
    },
    services::{
        memories::{self, MemoryFilter, Search, Users},
        pagination::PageRequest,
    },
};

#[derive(Default)]
pub struct MemoryQuery;

#[Object]
impl MemoryQuery {
    /// Newest first, filtered by agent, user and type. With `q` (which needs `agentId`): the memories matching
    /// any of its words, most relevant first, each with its `score`.
    #[graphql(
        guard = "ScopeGuard(\"memories:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn memories(
        &self,
        ctx: &Context<'_>,
        agent_id: Option<ID>,
        user_id: Option<String>,
        #[graphql(name = "type")] kind: Option<String>,
        q: Option<String>,
        limit: Option<i64>,
        page: Option<i64>,
    ) -> async_graphql::Result<MemoryPage> {
        let (app, db, principal) = (ctx.app().gql()?, ctx.db().gql()?, ctx.principal().gql()?);
        let request = PageRequest::new(page, limit).gql()?;
        let account = &principal.account_id;
        let embedder = app.embedder.as_deref();
        let Some(q) = q else {
            let filter = MemoryFilter { agent_id: agent_id.map(|id| id.0), user_id, kind };
            let (rows, total) = memories::list(db, account, &filter, request).await.gql()?;
            return Ok(MemoryPage {
                memories: rows.into_iter().map(Memory::from).collect(),
                pagination: request.info(total).into(),
            });
        };
        memories::validate_query(&q).gql()?;
        let agent_id = agent_id.ok_or_else(|| AppError::validation("agentId", "is required to search (`q`)")).gql()?;
        let users = user_id.as_deref().map_or(Users::Any, Users::Only);
        let search = Search {
            account_id: account,
            agent_id: &agent_id,
            users,
            query: &q,
            limit: request.offset() + request.limit,
            min_similarity: 0.0,
        };
        let mut hits = memories::search(db, embedder, &search).await.gql()?;
        if let Some(kind) = &kind {
            hits.retain(|hit| &hit.memory.kind == kind);
        }
        let total = hits.len() as u64;
        let page: Vec<Memory> =
            hits.into_iter().skip(request.offset() as usize).take(request.limit as usize).map(Memory::from).collect();
        Ok(MemoryPage { memories: page, pagination: request.info(total).into() })
    }

    #[graphql(guard = "ScopeGuard(\"memories:read\")")]
    async fn memory(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Memory> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Memory::from(memories::get(db, &principal.account_id, &id).await.gql()?))
    }
}
