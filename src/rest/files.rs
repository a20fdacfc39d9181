//! `GET /v2/files/{id}/content`: a stored file's bytes (binary, so outside the GraphQL route table). The files
//! API proper (uploads, listing, ranges) arrives with the files issue; task outputs such as charts use this now.
use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::problem::{self, request_id};
use crate::{app::HttpState, error::AppError, services::files};

pub async fn content(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    known: Option<axum::Extension<crate::auth::Authenticated>>,
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
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let bytes = match files::content(state.app.storage.as_ref(), &file).await {
        Ok(bytes) => bytes,
        Err(err) => return fail(err),
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.content_type) {
        out.insert(header::CONTENT_TYPE, value);
    }
    let ascii: String = file.name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{ascii}\"")) {
        out.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    response
}
