//! `POST /v2/batch`: several REST calls in one request. Each operation is sent through the very same router
//! in-process — authenticated with the batch's credentials, validated, counted and logged like a request of its
//! own — in order. A later operation may use an earlier result: `{{N.body.field}}` (N = 0-based index; also
//! `{{N.status}}`) in its path or in any string of its body. A string that is exactly one reference takes the
//! referenced JSON value (number, object…); inside a longer string the value is interpolated as text.
//! One operation's failure does not stop the others — unless the batch is `"atomic": true`: then all operations
//! write into one transaction that commits only if every one succeeds (see [`atomic`]). More operations than the
//! plan allows → 400 `batch_too_large`, nothing runs.
use std::sync::Arc;

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
use crate::{app::HttpState, auth::Plan, error::AppError, unit_of_work::UnitOfWork};

/// The most operations one batch may carry: the plan's batch size (SPEC §7, from the plan table).
pub fn max_operations(app: &crate::app::AppState, plan: Plan) -> usize {
    app.limiter.plans.get(plan).batch_size as usize
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

pub async fn batch(
    State(state): State<HttpState>,
    headers: HeaderMap,
    known: Option<axum::Extension<crate::auth::Authenticated>>,
    body: Body,
) -> Response {
    let request_id = request_id(&headers).to_owned();
    let fail = |err: AppError| problem::from_app_error(err, &request_id);
    let principal = match state.app.auth.from_request(&headers, known).await {
        Ok(principal) => principal,
        Err(err) => return fail(err),
    };
    let bytes = match crate::body::read(body, state.app.config.body_limit_bytes, state.app.config.body_deadline()).await
    {
        Ok(bytes) => bytes,
        Err(err) => return fail(err),
    };
    let request: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(err) => {
            return fail(AppError::BadRequest { code: "invalid_json", message: format!("batch body: {err}") });
        }
    };
    let max = max_operations(&state.app, principal.plan);
    if request.operations.len() > max {
        return fail(AppError::BadRequest {
            code: "batch_too_large",
            message: format!(
                "{} operations exceed the {} plan's batch size of {max}",
                request.operations.len(),
                principal.plan
            ),
        });
    }
    if request.operations.is_empty() {
        return fail(AppError::validation("operations", "must hold at least one operation"));
    }
    let Some(router) = state.router.get().cloned() else {
        return fail(AppError::Internal(anyhow::anyhow!("batch router not initialised")));
    };
    let resolve_limit = state.app.config.body_limit_bytes;
    let batch = Batch { router, resolve_limit, headers: &headers, request_id: &request_id };
    if request.atomic {
        return atomic(&state, &batch, request.operations).await;
    }
    let mut results: Vec<Value> = Vec::with_capacity(request.operations.len());
    for (index, operation) in request.operations.iter().enumerate() {
        let result = batch.run(index, operation, &results, None).await;
        results.push(result);
    }
    json_response(StatusCode::OK, &json!({ "results": results }))
}

/// Marks a request as an operation of a batch: it is charged rate like a request, but runs under the batch's
/// concurrency slot instead of taking one of its own.
#[derive(Clone, Copy, Debug)]
pub struct BatchOperation;

/// What every operation of one batch shares.
struct Batch<'a> {
    router: axum::Router,
    /// The most bytes an operation's references may add to it: the request-body limit.
    resolve_limit: usize,
    headers: &'a HeaderMap,
    request_id: &'a str,
}

impl Batch<'_> {
    /// Runs one operation through the router (inside `work`'s transaction when the batch is atomic).
    async fn run(&self, index: usize, operation: &Operation, results: &[Value], work: Option<&UnitOfWork>) -> Value {
        let (method, uri, body) = match prepare(operation, results, self.resolve_limit) {
            Ok(prepared) => prepared,
            Err(message) => {
                return json!({ "status": 400, "body": error_body("invalid_operation", &message, self.request_id) });
            }
        };
        let mut call = Request::builder().method(method).uri(&uri);
        for name in FORWARDED {
            if let Some(value) = self.headers.get(name) {
                call = call.header(name, value.clone());
            }
        }
        for (name, value) in operation.headers.iter().flatten() {
            let name = name.to_ascii_lowercase();
            // An operation answers JSON: an event stream would never end inside a batch.
            if name == "accept" {
                continue;
            }
            if let Some(value) = value.as_str() {
                call = call.header(name.as_str(), value);
            }
        }
        call = call.header(header::ACCEPT, "application/json").extension(BatchOperation);
        if let Some(work) = work {
            call = call.extension(work.clone());
        }
        let call = match &body {
            Some(body) => call
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(body).unwrap_or_default())),
            None => call.body(Body::empty()),
        };
        match call {
            Ok(call) => run(self.router.clone(), call).await,
            Err(err) => {
                json!({ "status": 400, "body": error_body("invalid_operation", &format!("operation {index}: {err}"), self.request_id) })
            }
        }
    }
}

/// `"atomic": true`: every operation writes into one transaction, committed only if all of them succeed. The
/// first failure stops the batch and rolls everything back; its result is returned as it was, the others as
/// `424` (`rolled_back` before it, `not_run` after it). Events and worker wake-ups wait for the commit, so nothing
/// is announced about a batch that did not happen.
async fn atomic(state: &HttpState, batch: &Batch<'_>, operations: Vec<Operation>) -> Response {
    let fail = |err: AppError| problem::from_app_error(err, batch.request_id);
    let txn = match crate::db::begin_write(&state.app.db).await {
        Ok(txn) => Arc::new(txn),
        Err(err) => return fail(err.into()),
    };
    let work = UnitOfWork::atomic(txn.clone());
    let mut results: Vec<Value> = Vec::with_capacity(operations.len());
    let mut failed = None;
    for (index, operation) in operations.iter().enumerate() {
        let result = batch.run(index, operation, &results, Some(&work)).await;
        let failure = is_failure(&result);
        results.push(result);
        if failure {
            failed = Some(index);
            break;
        }
    }
    let deferred = work.take_deferred();
    drop(work);
    let Some(failed) = failed else {
        // Every operation has answered, so nothing else holds the transaction.
        let Ok(txn) = Arc::try_unwrap(txn) else {
            return fail(AppError::Internal(anyhow::anyhow!(
                "an atomic batch's transaction was still in use at commit"
            )));
        };
        if let Err(err) = txn.commit().await {
            return fail(err.into());
        }
        deferred.into_iter().for_each(|action| action(&state.app));
        return json_response(StatusCode::OK, &json!({ "committed": true, "results": results }));
    };
    if let Ok(txn) = Arc::try_unwrap(txn)
        && let Err(err) = txn.rollback().await
    {
        tracing::warn!(error = %err, "an atomic batch's rollback failed; the connection discards it");
    }
    let cause = &results[failed];
    let status = cause["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(400);
    let code = cause["body"]["error"]["code"]
        .as_str()
        .or(cause["body"]["errors"][0]["extensions"]["code"].as_str())
        .unwrap_or("operation_failed")
        .to_owned();
    let message = format!("operation {failed} failed ({status} {code}); nothing in the batch was applied");
    let not_applied = |index: usize, code: &str, why: &str| json!({ "status": 424, "body": error_body(code, &format!("operation {index} {why} because operation {failed} failed"), batch.request_id) });
    let results: Vec<Value> = (0..operations.len())
        .map(|index| match index.cmp(&failed) {
            std::cmp::Ordering::Less => not_applied(index, "rolled_back", "was rolled back"),
            std::cmp::Ordering::Equal => results[failed].clone(),
            std::cmp::Ordering::Greater => not_applied(index, "not_run", "did not run"),
        })
        .collect();
    let mut error = error_body("batch_rolled_back", &message, batch.request_id);
    error["error"]["operation"] = json!(failed);
    error["committed"] = json!(false);
    error["results"] = Value::Array(results);
    let status = StatusCode::from_u16(status).ok().filter(|s| s.is_client_error() || s.is_server_error());
    json_response(status.unwrap_or(StatusCode::BAD_REQUEST), &error)
}

/// An operation failed if its status says so, or — for `/graphql` — its body carries errors.
fn is_failure(result: &Value) -> bool {
    let status = result["status"].as_u64().unwrap_or(500);
    let graphql_errors = result["body"]["errors"].as_array().is_some_and(|errors| !errors.is_empty());
    status >= 400 || graphql_errors
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_body(code: &str, message: &str, request_id: &str) -> Value {
    json!({ "error": { "code": code, "message": message, "requestId": request_id } })
}

/// The operation's method, URI and body, references resolved. What the references add is held to `limit` bytes
/// (a body that repeats a 100 KB reference thousands of times would otherwise multiply memory).
fn prepare(operation: &Operation, results: &[Value], limit: usize) -> Result<(Method, String, Option<Value>), String> {
    let method = Method::from_bytes(operation.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("unknown method `{}`", operation.method))?;
    let mut resolver = Resolver { results, left: limit, limit };
    let path = match resolver.string(&operation.path)? {
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
    let route_path = uri.split('?').next().unwrap_or_default();
    if route_path.ends_with("/stream") {
        return Err("streams are not available inside a batch; read the message instead".into());
    }
    let body = operation.body.as_ref().map(|b| resolver.value(b)).transpose()?;
    // Checked after references are resolved, so `"stream": "{{0.body.flag}}"` cannot slip through.
    if body.as_ref().and_then(|b| b.get("stream")).is_some_and(|flag| !matches!(flag, Value::Bool(false) | Value::Null))
    {
        return Err("streaming responses are not available inside a batch; send `stream: false`".into());
    }
    Ok((method, uri, body))
}

/// Resolves `{{N.path}}` references against earlier results, within a byte budget.
struct Resolver<'a> {
    results: &'a [Value],
    left: usize,
    limit: usize,
}

impl Resolver<'_> {
    fn value(&mut self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) => self.string(text)?,
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect::<Result<_, _>>()?),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), self.value(v)?))).collect::<Result<_, String>>()?)
            }
            other => other.clone(),
        })
    }

    /// Replaces `{{N.path.to.value}}` references in a string.
    fn string(&mut self, text: &str) -> Result<Value, String> {
        let trimmed = text.trim();
        if let Some(inner) = trimmed.strip_prefix("{{").and_then(|t| t.strip_suffix("}}"))
            && !inner.contains("{{")
        {
            return self.lookup(inner.trim());
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| format!("unclosed reference in `{text}`"))?;
            match self.lookup(after[..end].trim())? {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    fn lookup(&mut self, reference: &str) -> Result<Value, String> {
        let mut parts = reference.split('.');
        let index: usize = parts
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("`{{{{{reference}}}}}` must start with an operation index"))?;
        let mut value = self.results.get(index).ok_or_else(|| {
            format!("`{{{{{reference}}}}}` refers to operation {index}, which has not run before this one")
        })?;
        for part in parts {
            value = match value {
                Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                Value::Object(map) => map.get(part),
                _ => None,
            }
            .ok_or_else(|| format!("`{{{{{reference}}}}}` does not exist in operation {index}'s result"))?;
        }
        // Measured before it is copied: the copy is what the budget protects.
        let size = serialized_len(value);
        self.left = self
            .left
            .checked_sub(size)
            .ok_or_else(|| format!("the references of this operation resolve to more than {} bytes", self.limit))?;
        Ok(value.clone())
    }
}

/// The length of a value's JSON text, counted without building it.
fn serialized_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_resolved_within_a_budget() {
        let big = "x".repeat(100_000);
        let results = vec![json!({"status": 201, "body": {"id": "a-1", "text": big}})];
        let operation =
            |body: Value| Operation { method: "POST".into(), path: "/agents".into(), body: Some(body), headers: None };
        let (_, _, body) =
            prepare(&operation(json!({"id": "{{0.body.id}}", "n": "{{0.status}}"})), &results, 1_000_000)
                .expect("resolves");
        assert_eq!(body, Some(json!({"id": "a-1", "n": 201})));
        let repeated: Vec<Value> = (0..8_000).map(|_| json!("{{0.body.text}}")).collect();
        let err = prepare(&operation(Value::Array(repeated)), &results, 1_000_000).expect_err("over budget");
        assert!(err.contains("more than 1000000 bytes"), "{err}");
        let interpolated = "{{0.body.text}}".repeat(20);
        assert!(prepare(&operation(json!({"t": interpolated})), &results, 1_000_000).is_err());
    }

    #[test]
    fn fuzz_batch_references() {
        const VOCABULARY: &[&str] = &[
            "{{", "}}", "0", "1", ".", "body", "id", "text", "status", "items", "{", "}", "[", "]", "\"", ":", ",",
            " ", "/", "agents", "?", "stream", "true",
        ];
        let results = vec![
            json!({"status": 201, "body": {"id": "a-1", "text": "x".repeat(10_000), "items": [1, {"id": "i"}], "flag": true}}),
            json!({"status": 404, "body": {"error": {"code": "not_found"}}}),
        ];
        let limit = 100_000;
        crate::fuzz::run("batch_references", VOCABULARY, |input| {
            let text = String::from_utf8_lossy(input).into_owned();
            // As a path, as a JSON body when it parses, and as a string inside a body.
            let body = serde_json::from_str::<Value>(&text).ok();
            for body in [body, Some(json!({ "t": text.clone() }))] {
                let operation = Operation {
                    method: "PATCH".into(),
                    path: format!("/agents/{text}"),
                    body: body.clone(),
                    headers: None,
                };
                let before = body.as_ref().map_or(0, serialized_len) + text.len();
                if let Ok((_, uri, resolved)) = prepare(&operation, &results, limit) {
                    let after = resolved.as_ref().map_or(0, serialized_len) + uri.len();
                    // Each reference adds at most what it resolves to, and all of them at most `limit`, plus the
                    // quotes and escapes of interpolated text.
                    assert!(after <= 2 * (before + limit) + 64, "{after} bytes from {before}");
                }
            }
        });
    }
}
