//! `POST /v2/batch`: several REST calls in one request. Each operation is sent through the very same router
//! in-process — authenticated with the batch's credentials, validated, counted and logged like a request of its
//! own — in order. A later operation may use an earlier result: `{{N.body.field}}` (N = 0-based index; also
//! `{{N.status}}`) in its path or in any string of its body. A string that is exactly one reference takes the
//! referenced JSON value (number, object…); inside a longer string the value is interpolated as text.
//! One operation's failure does not stop the others. More operations than the plan allows → 400
//! `batch_too_large`, nothing runs.
use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::problem::{self, request_id};
use crate::{app::HttpState, auth::Plan, error::AppError};

/// The most operations one batch may carry, per plan (SPEC §7).
pub fn max_operations(plan: Plan) -> usize {
    match plan {
        Plan::Free => 10,
        Plan::Pro => 50,
        Plan::Enterprise => 100,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    operations: Vec<Operation>,
    #[serde(default)]
    atomic: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Operation {
    method: String,
    path: String,
    #[serde(default)]
    body: Option<Value>,
    /// Extra request headers for this operation (e.g. `Idempotency-Key`).
    #[serde(default)]
    headers: Option<serde_json::Map<String, Value>>,
}

/// Headers passed from the batch request to each operation.
const FORWARDED: [&str; 3] = ["authorization", "x-api-key", "x-request-id"];
/// Response headers worth returning per operation.
const RETURNED: [&str; 3] = ["location", "idempotent-replayed", "retry-after"];

pub async fn batch(State(state): State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    let request_id = request_id(&headers).to_owned();
    let fail = |err: AppError| problem::from_app_error(err, &request_id);
    let principal = match state.app.auth.from_headers(&headers).await {
        Ok(principal) => principal,
        Err(err) => return fail(err),
    };
    let bytes = match axum::body::to_bytes(body, state.app.config.body_limit_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => return fail(AppError::PayloadTooLarge { limit: state.app.config.body_limit_bytes }),
    };
    let request: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(err) => {
            return fail(AppError::BadRequest { code: "invalid_json", message: format!("batch body: {err}") });
        }
    };
    if request.atomic {
        return fail(AppError::BadRequest {
            code: "atomic_unsupported",
            message: "atomic batches are not supported yet; send the operations without \"atomic\"".into(),
        });
    }
    let max = max_operations(principal.plan);
    if request.operations.len() > max {
        return fail(AppError::BadRequest {
            code: "batch_too_large",
            message: format!("{} operations exceed the {} plan's batch size of {max}", request.operations.len(), principal.plan),
        });
    }
    if request.operations.is_empty() {
        return fail(AppError::validation("operations", "must hold at least one operation"));
    }
    let Some(router) = state.router.get().cloned() else {
        return fail(AppError::Internal(anyhow::anyhow!("batch router not initialised")));
    };
    let mut results: Vec<Value> = Vec::with_capacity(request.operations.len());
    for (index, operation) in request.operations.into_iter().enumerate() {
        let result = match prepare(&operation, &results) {
            Err(message) => json!({ "status": 400, "body": error_body("invalid_operation", &message, &request_id) }),
            Ok((method, uri, body)) => {
                let mut call = Request::builder().method(method).uri(&uri);
                for name in FORWARDED {
                    if let Some(value) = headers.get(name) {
                        call = call.header(name, value.clone());
                    }
                }
                for (name, value) in operation.headers.iter().flatten() {
                    if let Some(value) = value.as_str() {
                        call = call.header(name.as_str(), value);
                    }
                }
                let call = match &body {
                    Some(body) => call
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(serde_json::to_vec(body).unwrap_or_default())),
                    None => call.body(Body::empty()),
                };
                match call {
                    Ok(call) => run(router.clone(), call).await,
                    Err(err) => json!({ "status": 400, "body": error_body("invalid_operation", &format!("operation {index}: {err}"), &request_id) }),
                }
            }
        };
        results.push(result);
    }
    let mut response = (StatusCode::OK, serde_json::to_vec(&json!({ "results": results })).unwrap_or_default()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_body(code: &str, message: &str, request_id: &str) -> Value {
    json!({ "error": { "code": code, "message": message, "requestId": request_id } })
}

/// The operation's method, URI and body, references resolved.
fn prepare(operation: &Operation, results: &[Value]) -> Result<(Method, String, Option<Value>), String> {
    let method = Method::from_bytes(operation.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("unknown method `{}`", operation.method))?;
    let path = match resolve_string(&operation.path, results)? {
        Value::String(path) => path,
        other => other.to_string(),
    };
    if !path.starts_with('/') || path.contains("://") {
        return Err("path must start with `/` (e.g. `/conversations` or `/v2/conversations`)".into());
    }
    let uri = if path.starts_with("/v2/") { path } else { format!("/v2{path}") };
    if uri.starts_with("/v2/batch") {
        return Err("batches cannot be nested".into());
    }
    if operation.body.as_ref().and_then(|b| b.get("stream")) == Some(&Value::Bool(true)) {
        return Err("streaming responses are not available inside a batch; send `stream: false`".into());
    }
    let body = operation.body.as_ref().map(|b| resolve(b, results)).transpose()?;
    Ok((method, uri, body))
}

fn resolve(value: &Value, results: &[Value]) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => resolve_string(text, results)?,
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, results)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), resolve(v, results)?))).collect::<Result<_, String>>()?)
        }
        other => other.clone(),
    })
}

/// Replaces `{{N.path.to.value}}` references in a string.
fn resolve_string(text: &str, results: &[Value]) -> Result<Value, String> {
    let trimmed = text.trim();
    if let Some(inner) = trimmed.strip_prefix("{{").and_then(|t| t.strip_suffix("}}"))
        && !inner.contains("{{")
    {
        return lookup(inner.trim(), results);
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| format!("unclosed reference in `{text}`"))?;
        match lookup(after[..end].trim(), results)? {
            Value::String(s) => out.push_str(&s),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

fn lookup(reference: &str, results: &[Value]) -> Result<Value, String> {
    let mut parts = reference.split('.');
    let index: usize = parts
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("`{{{{{reference}}}}}` must start with an operation index"))?;
    let mut value = results.get(index).ok_or_else(|| format!("`{{{{{reference}}}}}` refers to operation {index}, which has not run before this one"))?;
    for part in parts {
        value = match value {
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            Value::Object(map) => map.get(part),
            _ => None,
        }
        .ok_or_else(|| format!("`{{{{{reference}}}}}` does not exist in operation {index}'s result"))?;
    }
    Ok(value.clone())
}

async fn run(router: axum::Router, call: Request<Body>) -> Value {
    let response = match router.oneshot(call).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let mut returned = serde_json::Map::new();
    for name in RETURNED {
        if let Some(value) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
            returned.insert(name.to_owned(), Value::String(value.to_owned()));
        }
    }
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.unwrap_or_default();
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    let mut result = json!({ "status": status, "body": body });
    if !returned.is_empty() {
        result["headers"] = Value::Object(returned);
    }
    result
}
