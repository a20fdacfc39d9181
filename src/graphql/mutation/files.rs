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
        let key = files::delete(db, &principal.account_id, &id).await.gql()?;
        // The bytes go once the deletion is committed (inside an atomic batch, only if the batch commits).
        ctx.work().gql()?.after_commit(app, move |app| {
            let storage = app.storage.clone();
            tokio::spawn(async move {
                if let Err(err) = storage.delete(&key).await {
                    tracing::warn!(error = %err, key, "could not delete a file's bytes");
                }
            });
        });
        Ok(Deleted { id, deleted: true })
    }
}
