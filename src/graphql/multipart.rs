//! The GraphQL multipart request spec (<https://github.com/jaydenseric/graphql-multipart-request-spec>), read with
//! a limit per part: `operations` and `map` are JSON, held to the request-body limit like any JSON body; only the
//! file parts may be as large as a file upload, and they are streamed to temporary files, never held in memory.
//! (async-graphql's own reader gives every part the file limit, so a 500 MB `operations` part would be buffered.)
//! The caller authenticates before calling this: nothing is read for a request that will be refused.
use std::collections::HashMap;

use async_graphql::UploadValue;
use axum::body::Body;
use multer::{Constraints, Multipart, SizeLimit};
use serde_json::{Map, Value as Json};
use tokio::io::AsyncWriteExt;

/// The most variable paths `map` may give the files, together.
pub const MAX_FILE_PATHS: usize = 64;

/// The limits of one multipart request.
#[derive(Debug, Clone, Copy)]
pub struct MultipartLimits {
    /// `operations` and `map`, each.
    pub json_bytes: usize,
    /// Each file.
    pub file_bytes: u64,
    pub max_files: usize,
}

/// Why a multipart request was refused.
#[derive(Debug, thiserror::Error)]
pub enum MultipartError {
    #[error("{0}")]
    Invalid(String),
    #[error("the `{part}` part exceeds {limit} bytes")]
    TooLarge { part: String, limit: u64 },
    #[error("storing an uploaded file failed")]
    Io(#[from] std::io::Error),
}

/// A read request: the `operations` object (for the caller's usual parameter checks) and the files, each with
/// the variable paths `map` gives it.
pub struct MultipartRequest {
    pub operations: Map<String, Json>,
    pub files: Vec<(Vec<String>, UploadValue)>,
}

fn invalid(message: impl Into<String>) -> MultipartError {
    MultipartError::Invalid(message.into())
}

fn from_multer(err: multer::Error) -> MultipartError {
    match err {
        multer::Error::FieldSizeExceeded { field_name, limit } => {
            MultipartError::TooLarge { part: field_name.unwrap_or_default(), limit }
        }
        multer::Error::StreamSizeExceeded { limit } => MultipartError::TooLarge { part: "body".into(), limit },
        other => invalid(other.to_string()),
    }
}

async fn next_part<'r>(multipart: &mut Multipart<'r>) -> Result<Option<multer::Field<'r>>, MultipartError> {
    multipart.next_field().await.map_err(from_multer)
}

/// Reads `operations`, then `map`, then the files (the order the spec prescribes, which is what lets a server
/// check the first two before any file arrives).
pub async fn read(content_type: &str, body: Body, limits: MultipartLimits) -> Result<MultipartRequest, MultipartError> {
    let boundary = multer::parse_boundary(content_type).map_err(|err| invalid(err.to_string()))?;
    let json = limits.json_bytes as u64;
    let files_total = limits.file_bytes.saturating_mul(limits.max_files as u64);
    let constraints = Constraints::new().size_limit(
        SizeLimit::new()
            .whole_stream(files_total.saturating_add(2 * json).saturating_add(64 * 1024))
            .per_field(limits.file_bytes)
            .for_field("operations", json)
            .for_field("map", json),
    );
    let mut multipart = Multipart::with_constraints(body.into_data_stream(), boundary, constraints);

    let Some(field) = next_part(&mut multipart).await? else { return Err(invalid("the `operations` part is missing")) };
    if field.name() != Some("operations") {
        return Err(invalid("the first part must be `operations`"));
    }
    let bytes = field.bytes().await.map_err(from_multer)?;
    let operations = match serde_json::from_slice::<Json>(&bytes) {
        Ok(Json::Object(map)) => map,
        Ok(Json::Array(_)) => return Err(invalid("send one operation per multipart request")),
        Ok(_) => return Err(invalid("`operations` must be a JSON object")),
        Err(err) => return Err(invalid(format!("`operations` is malformed JSON: {err}"))),
    };

    let Some(field) = next_part(&mut multipart).await? else { return Err(invalid("the `map` part is missing")) };
    if field.name() != Some("map") {
        return Err(invalid("the second part must be `map`"));
    }
    let bytes = field.bytes().await.map_err(from_multer)?;
    let mut map: HashMap<String, Vec<String>> =
        serde_json::from_slice(&bytes).map_err(|err| invalid(format!("`map` must map part names to paths: {err}")))?;
    if map.len() > limits.max_files {
        return Err(invalid(format!("at most {} files per request", limits.max_files)));
    }
    // Each path a file is used at holds an open descriptor of its own: bound them, and one use per path.
    let mut seen = std::collections::HashSet::new();
    for paths in map.values_mut() {
        paths.retain(|path| seen.insert(path.clone()));
    }
    if seen.len() > MAX_FILE_PATHS {
        return Err(invalid(format!("`map` names more than {MAX_FILE_PATHS} variable paths")));
    }

    let mut files = Vec::with_capacity(map.len());
    while let Some(mut field) = next_part(&mut multipart).await? {
        let name = field.name().unwrap_or_default().to_owned();
        let Some(paths) = map.remove(&name) else {
            return Err(invalid(format!("part `{name}` is not named in `map`")));
        };
        let filename = field.file_name().unwrap_or_default().to_owned();
        let content_type = field.content_type().map(ToString::to_string);
        let mut spool = tokio::fs::File::from_std(tempfile::tempfile()?);
        while let Some(chunk) = field.chunk().await.map_err(from_multer)? {
            spool.write_all(&chunk).await?;
        }
        spool.flush().await?;
        let mut content = spool.into_std().await;
        std::io::Seek::rewind(&mut content)?;
        files.push((paths, UploadValue { filename, content_type, content }));
    }
    if let Some(missing) = map.keys().next() {
        return Err(invalid(format!("the file part `{missing}` named in `map` is missing")));
    }
    Ok(MultipartRequest { operations, files })
}

#[cfg(test)]
mod fuzz {
    use super::*;

    #[test]
    fn fuzz_multipart_reader() {
        const VOCABULARY: &[&str] = &[
            "--X",
            "--X--",
            "\r\n",
            "\r\n\r\n",
            "Content-Disposition: form-data; name=\"operations\"",
            "Content-Disposition: form-data; name=\"map\"",
            "Content-Disposition: form-data; name=\"0\"; filename=\"a.txt\"",
            "Content-Type: text/plain",
            "{\"query\":\"{ viewer { plan } }\"}",
            "{\"0\":[\"variables.f\"]}",
            "hello",
            "\"",
            "{",
            "}",
        ];
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let limits = MultipartLimits { json_bytes: 2048, file_bytes: 4096, max_files: 3 };
        crate::fuzz::run("multipart", VOCABULARY, |input| {
            let body = Body::from(input.to_vec());
            if let Ok(request) = runtime.block_on(read("multipart/form-data; boundary=X", body, limits)) {
                assert!(request.files.len() <= limits.max_files);
                for (_, upload) in &request.files {
                    let size = upload.content.metadata().map(|m| m.len()).unwrap_or(0);
                    assert!(size <= limits.file_bytes, "a file of {size} bytes got through");
                }
            }
        });
    }
}
