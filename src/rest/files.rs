//! File bytes over HTTP (binary, so outside the GraphQL route table): `POST /v2/files` takes a multipart upload
//! and streams it to storage; `GET /v2/files/{id}/content` streams it back, with `Range` (one range; RFC 9110
//! lets a server answer several with the whole file), `If-Range`, `If-None-Match`, `ETag` and
//! `Content-Disposition`. Listing, metadata and deletion are ordinary route-table rows.
use axum::{
    Extension,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::problem::{self, request_id};
use crate::{app::HttpState, auth::Authenticated, error::AppError, services::files, storage::StorageError};

/// `POST /v2/files` (multipart/form-data): a `file` part (its filename is kept) and an optional `purpose` part
/// before it. 201 with the file's metadata.
pub async fn upload(
    State(state): State<HttpState>,
    headers: HeaderMap,
    known: Option<Extension<Authenticated>>,
    body: Body,
) -> Response {
    let request_id = request_id(&headers).to_owned();
    let fail = |err: AppError| problem::from_app_error(err, &request_id);
    let principal = match state.app.auth.from_request(&headers, known).await {
        Ok(principal) => principal,
        Err(err) => return fail(err),
    };
    if !principal.allows("files:write") {
        return fail(AppError::forbidden("this credential lacks the `files:write` scope"));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return fail(AppError::BadRequest {
            code: "unsupported_media_type",
            message: "send multipart/form-data with a `file` part".into(),
        });
    };
    // `purpose` and `collection` are short words: only the `file` part may be large.
    // (The file's own limit is enforced where it is stored, with its own error.)
    let limits = multer::SizeLimit::new().for_field("purpose", 1024).for_field("collection", 1024);
    let constraints = multer::Constraints::new().size_limit(limits);
    let mut multipart = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut purpose = "user_data".to_owned();
    let mut collection = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return fail(AppError::validation("file", "the multipart body has no `file` part")),
            Err(err) => return fail(AppError::BadRequest { code: "invalid_multipart", message: err.to_string() }),
        };
        match field.name() {
            Some("purpose") => match field.text().await {
                Ok(text) => purpose = text.trim().to_owned(),
                Err(err) => return fail(AppError::BadRequest { code: "invalid_multipart", message: err.to_string() }),
            },
            Some("collection") => match field.text().await {
                Ok(text) => collection = Some(text.trim().to_owned()),
                Err(err) => return fail(AppError::BadRequest { code: "invalid_multipart", message: err.to_string() }),
            },
            Some("file") => {
                let name = files::clean_name(field.file_name());
                let chunks = field.map(|chunk| chunk.map_err(|err| StorageError::Source(err.to_string()))).boxed();
                let limit = state.app.config.file_max_bytes;
                let stored = files::upload(
                    &state.app.db,
                    state.app.storage.as_ref(),
                    &state.app.extractor,
                    &principal.account_id,
                    files::UploadMeta { name, purpose, collection },
                    chunks,
                    limit,
                )
                .await;
                return match stored {
                    Ok(file) => {
                        let location = format!("/v2/files/{}", file.id);
                        let mut response = (StatusCode::CREATED, axum::Json(file_json(&file))).into_response();
                        if let Ok(value) = HeaderValue::from_str(&location) {
                            response.headers_mut().insert(header::LOCATION, value);
                        }
                        response
                    }
                    Err(err) => fail(err),
                };
            }
            // Unknown parts are skipped (their bytes are drained by the parser).
            _ => {}
        }
    }
}

/// The file metadata of SPEC §3, as the route table's `File` documents answer it.
fn file_json(file: &entity::file::Model) -> serde_json::Value {
    serde_json::json!({
        "id": file.id, "name": file.name, "size": file.size, "contentType": file.content_type,
        "sha256": file.sha256, "purpose": file.purpose, "collection": file.collection,
        // As GraphQL's DateTime prints it, so the upload and `GET /v2/files/{id}` answer the same.
        "createdAt": file.created_at.to_rfc3339(),
        "url": files::content_path(&file.id),
    })
}

/// One satisfiable range of a `size`-byte file, or why not.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    Whole,
    Part { start: u64, end: u64 },
    Unsatisfiable,
}

/// Parses `Range: bytes=a-b | a- | -n`. Anything else (other units, several ranges, garbage) → the whole file.
fn parse_range(value: Option<&str>, size: u64) -> Range {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else { return Range::Whole };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else { return Range::Whole };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => Some((start, end.min(size.saturating_sub(1)))),
        (Ok(_), Ok(_)) => return Range::Whole,
        (Ok(start), Err(_)) if last.is_empty() => Some((start, size.saturating_sub(1))),
        (Err(_), Ok(suffix)) if first.is_empty() => {
            if suffix == 0 {
                return Range::Unsatisfiable;
            }
            Some((size.saturating_sub(suffix), size.saturating_sub(1)))
        }
        _ => return Range::Whole,
    };
    match parsed {
        Some((start, end)) if start < size && start <= end => Range::Part { start, end },
        _ => Range::Unsatisfiable,
    }
}

pub async fn content(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    known: Option<Extension<Authenticated>>,
) -> Response {
    let request_id = request_id(&headers).to_owned();
    let fail = |err: AppError| problem::from_app_error(err, &request_id);
    let principal = match state.app.auth.from_request(&headers, known).await {
        Ok(principal) => principal,
        Err(err) => return fail(err),
    };
    if !principal.allows("files:read") {
        return fail(AppError::forbidden("this credential lacks the `files:read` scope"));
    }
    let file = match files::get(&state.app.db, &principal.account_id, &id).await {
        Ok(file) => file,
        Err(err) => return fail(err),
    };
    let etag = format!("\"{}\"", file.sha256);
    let header_text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if header_text(header::IF_NONE_MATCH).is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response
            .headers_mut()
            .insert(header::ETAG, HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("")));
        return response;
    }
    let size = u64::try_from(file.size).unwrap_or(0);
    // If-Range: a range only applies to the representation the client already has part of.
    let range_applies = header_text(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let range = if range_applies { parse_range(header_text(header::RANGE), size) } else { Range::Whole };
    let (status, start, len) = match range {
        Range::Whole => (StatusCode::OK, 0, size),
        Range::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Range::Unsatisfiable => {
            let mut response = fail(AppError::BadRequest {
                code: "range_not_satisfiable",
                message: format!("the file has {size} bytes"),
            });
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return response;
        }
    };
    let stream = match state.app.storage.read_range(&file.storage_key, start, len).await {
        Ok(stream) => stream,
        Err(StorageError::NotFound(_)) => return fail(AppError::NotFound { resource: "file content" }),
        Err(err) => return fail(AppError::Internal(err.into())),
    };
    let mut response = (status, Body::from_stream(stream)).into_response();
    let out = response.headers_mut();
    let mut set = |name: header::HeaderName, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, file.content_type.clone());
    set(header::CONTENT_LENGTH, len.to_string());
    set(header::CONTENT_DISPOSITION, disposition(&file.name));
    set(header::ETAG, etag);
    // The stored content type is whatever the uploader claimed: a browser must not sniff an upload into HTML.
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned());
    set(header::ACCEPT_RANGES, "bytes".to_owned());
    set(header::CACHE_CONTROL, "private, max-age=3600".to_owned());
    if status == StatusCode::PARTIAL_CONTENT {
        set(header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", start + len - 1));
    }
    response
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266), so any name survives.
fn disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", utf8_percent_encode(name, NON_ALPHANUMERIC))
}

#[cfg(test)]
mod tests {
    use super::{Range, disposition, parse_range};

    #[test]
    fn ranges() {
        let part = |start, end| Range::Part { start, end };
        assert_eq!(parse_range(Some("bytes=0-4"), 10), part(0, 4));
        assert_eq!(parse_range(Some("bytes=5-"), 10), part(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), part(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), part(0, 9), "a suffix longer than the file is the file");
        assert_eq!(parse_range(Some("bytes=8-100"), 10), part(8, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Range::Whole, "several ranges: the whole file");
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Range::Whole, "invalid: ignored");
        assert_eq!(parse_range(Some("items=0-1"), 10), Range::Whole);
        assert_eq!(parse_range(None, 10), Range::Whole);
    }

    #[test]
    fn dispositions_keep_any_name() {
        assert_eq!(
            disposition("报告 1.pdf"),
            "attachment; filename=\"__ 1.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%201%2Epdf"
        );
    }
}
