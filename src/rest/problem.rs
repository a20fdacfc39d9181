//! The SPEC §2 error body: `{"error": {"code", "message", "requestId", "details"}}`.
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::error::{AppError, status_for_code};

/// The request id assigned by the request-id middleware.
pub fn request_id(headers: &HeaderMap) -> &str {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// An error response with an explicit status.
pub fn problem(status: StatusCode, code: &str, message: &str, details: Option<Value>, request_id: &str) -> Response {
    let mut error = json!({ "code": code, "message": message, "requestId": request_id });
    if let Some(details) = details {
        error["details"] = details;
    }
    let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An error response whose status follows from its code (with `Retry-After` when the details name one).
pub fn from_code(code: &str, message: &str, details: Option<Value>, request_id: &str) -> Response {
    let retry_after = details.as_ref().and_then(|d| d.get("retryAfter")).and_then(Value::as_u64);
    let mut response = problem(status_for_code(code), code, message, details, request_id);
    if let Some(secs) = retry_after
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// An [`AppError`] as a response.
pub fn from_app_error(err: AppError, request_id: &str) -> Response {
    let mut response = problem(err.status(), err.code(), &err.public_message(), err.details(), request_id);
    if let Some(retry_after_secs) = err.retry_after_secs()
        && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
