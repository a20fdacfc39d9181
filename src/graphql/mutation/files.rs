//! Uploading (the GraphQL multipart request spec) and deleting files. `POST /v2/files` is the REST upload.
use async_graphql::{Context, ID, Object, Upload};
use futures_util::StreamExt;

use crate::{
    graphql::{
        context::ContextExt,
        errors::GqlResultExt,
        guards::ScopeGuard,
        types::{Deleted, file::File},
    },
    services::files,
    storage::StorageError,
};

#[derive(Default)]
pub struct FileMutation;

#[Object]
impl FileMutation {
    /// Stores an uploaded file (a multipart request: `operations`, `map`, then the file). The content type is
    /// sniffed from the bytes; `purpose` defaults to `user_data`. A `knowledge` file (optionally in a `collection`)
    /// is extracted and indexed for the `knowledge-base` skill; one whose text cannot be read is refused.
    #[graphql(guard = "ScopeGuard(\"files:write\")")]
    async fn upload_file(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        purpose: Option<String>,
        collection: Option<String>,
    ) -> async_graphql::Result<File> {
        let (app, db, principal) = (ctx.app().gql()?, ctx.db().gql()?, ctx.principal().gql()?);
        let upload = file.value(ctx)?;
        let name = files::clean_name(Some(&upload.filename));
        let content = tokio::fs::File::from_std(upload.content);
        let chunks = tokio_util::io::ReaderStream::with_capacity(content, 64 * 1024)
            .map(|chunk| chunk.map_err(StorageError::from))
            .boxed();
        let purpose = purpose.unwrap_or_else(|| "user_data".to_owned());
        let limit = app.config.file_max_bytes;
        let meta = files::UploadMeta { name, purpose, collection };
        let stored =
            files::upload(db, app.storage.as_ref(), &app.extractor, &principal.account_id, meta, chunks, limit);
        Ok(File::from(stored.await.gql()?))
    }

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
