//! The caller's files.
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::file::{File, FilePage},
    },
    services::{files, pagination::PageRequest},
};

#[derive(Default)]
pub struct FileQuery;

#[Object]
impl FileQuery {
    /// Newest first; `purpose` filters.
    #[graphql(
        guard = "ScopeGuard(\"files:read\")",
        complexity = "limit.unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn files(
        &self,
        ctx: &Context<'_>,
        purpose: Option<String>,
        limit: Option<i64>,
        page: Option<i64>,
    ) -> async_graphql::Result<FilePage> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        let request = PageRequest::new(page, limit).gql()?;
        let (rows, total) = files::list(db, &principal.account_id, purpose.as_deref(), request).await.gql()?;
        Ok(FilePage { files: rows.into_iter().map(File::from).collect(), pagination: request.info(total).into() })
    }

    #[graphql(guard = "ScopeGuard(\"files:read\")")]
    async fn file(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<File> {
        let (db, principal) = (ctx.db().gql()?, ctx.principal().gql()?);
        Ok(File::from(files::get(db, &principal.account_id, &id).await.gql()?))
    }
}
