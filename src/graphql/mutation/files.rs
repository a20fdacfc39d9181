//! Deleting files (uploads are `POST /v2/files`, multipart).
use async_graphql::{Context, ID, Object};

use crate::{
    graphql::{context::ContextExt, errors::GqlResultExt, guards::ScopeGuard, types::Deleted},
    services::files,
};

#[derive(Default)]
pub struct FileMutation;

#[Object]
impl FileMutation {
    /// Deletes the file's metadata and bytes.
    #[graphql(guard = "ScopeGuard(\"files:write\")")]
    async fn delete_file(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deleted> {
        let (app, db, principal) = (ctx.app().gql()?, ctx.db().gql()?, ctx.principal().gql()?);
        files::delete(db, app.storage.as_ref(), &principal.account_id, &id).await.gql()?;
        Ok(Deleted { id, deleted: true })
    }
}
