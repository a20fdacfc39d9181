//! Reading tasks.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::{Task, TaskPage},
    },
    services::{cursor::CursorRequest, tasks},
};

#[derive(Default)]
pub struct TaskQuery;

#[Object]
impl TaskQuery {
    #[graphql(guard = "ScopeGuard(\"tasks:read\")")]
    async fn task(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Task> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(Task::new(tasks::get(db, &principal.account_id, &id).await.gql()?))
    }

    /// The account's tasks, newest first.
    #[graphql(
        guard = "ScopeGuard(\"tasks:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
        #[graphql(name = "type")] kind: Option<String>,
        after: Option<String>,
        limit: Option<i64>,
    ) -> async_graphql::Result<TaskPage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let cursor = CursorRequest::new(after, limit).gql()?;
        let (items, info) = tasks::list(db, &principal.account_id, status, kind, cursor).await.gql()?;
        Ok(TaskPage { tasks: items.into_iter().map(Task::new).collect(), pagination: info.into() })
    }
}
