//! `/playground`: the GraphiQL explorer and the agent console, built from `playground/` and embedded in the binary
//! (no CDN, no internet). Hashed assets are cached for a year (`immutable`); pages revalidate by ETag. Bodies are
//! precompressed at build time and chosen by `Accept-Encoding` (brotli, then gzip).
use axum::{
    Router,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use crate::{app::HttpState, rest::problem};

pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/playground", get(|| async { Redirect::permanent("/playground/") }))
        .route("/playground/", get(|headers: HeaderMap| async move { serve("index.html", &headers) }))
        .route(
            "/playground/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move { serve(&path, &headers) }),
        )
}

/// Hashed file names under `assets/` never change content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = ::playground::get(path) else {
        return problem::problem(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "no such playground file",
            None,
            problem::request_id(headers),
        );
    };
    let cache = if path.starts_with("assets/") { IMMUTABLE } else { REVALIDATE };
    let mut response = if matches_etag(headers, asset.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let accepts = |coding: &str| accepts_encoding(headers, coding);
        let (body, encoding) = match (asset.br, asset.gzip) {
            (Some(br), _) if accepts("br") => (br, Some("br")),
            (_, Some(gzip)) if accepts("gzip") => (gzip, Some("gzip")),
            _ => (asset.body, None),
        };
        let mut response = body.into_response();
        let content_type = match asset.mime_type {
            Some(mime) if mime.starts_with("text/") => format!("{mime}; charset=utf-8"),
            Some(mime) => mime.to_owned(),
            None => "application/octet-stream".to_owned(),
        };
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        if let Some(encoding) = encoding {
            response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(asset.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|list| {
        list.split(',')
            .any(|tag| matches!(tag.trim(), t if t == etag || t == "*" || t.strip_prefix("W/") == Some(etag)))
    })
}

/// Whether `Accept-Encoding` accepts `coding` (listed, or `*`, with q > 0).
fn accepts_encoding(headers: &HeaderMap, coding: &str) -> bool {
    let Some(accept) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else { return false };
    accept.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let q = parts.filter_map(|p| p.strip_prefix("q=")).find_map(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
        (name.eq_ignore_ascii_case(coding) || name == "*") && q > 0.0
    })
}
