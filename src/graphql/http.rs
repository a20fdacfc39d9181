//! GraphQL over HTTP, to the letter of the GraphQL-over-HTTP spec (and every audit of `graphql-http`):
//! media-type negotiation (`application/graphql-response+json` and `application/json`), GET for queries only,
//! strict request-parameter validation, and status codes that depend on the negotiated media type.
//! A client that lists `text/event-stream` in `Accept` gets GraphQL over Server-Sent Events instead ([`super::sse`]);
//! then GET serves subscriptions too.
use std::task::Poll;

use async_graphql::{
    ServerError, Value, Variables,
    parser::types::{ExecutableDocument, OperationType},
};
use axum::{
    Extension,
    body::Body,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{StreamExt, stream};
use serde::Serialize;
use serde_json::Value as Json;

use super::{errors, ordering, request_data, sse};
use crate::{app::HttpState, error::AppError, limits::RateSlot, unit_of_work::UnitOfWork};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const APPLICATION_JSON: &str = "application/json; charset=utf-8";

/// The response media type the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            Self::Json => APPLICATION_JSON,
        }
    }
}

/// The media ranges of `Accept`, lowercased, each with its q (1 when not given).
fn media_ranges(accept: &str) -> impl Iterator<Item = (String, f32)> + '_ {
    accept.split(',').map(|range| {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts.filter_map(|p| p.strip_prefix("q=")).find_map(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
        (essence, q)
    })
}

/// Picks the response media type from `Accept` (highest q wins, earlier wins ties). A missing header means
/// `application/json`; `*/*` and `application/*` mean `application/json`. `None` means 406.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for (essence, q) in media_ranges(accept) {
        let media = match essence.as_str() {
            "application/graphql-response+json" => MediaType::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, media));
        }
    }
    best.map(|(_, media)| media)
}

/// True when `Accept` lists `text/event-stream` with q > 0. Wildcards do not count: streaming is opted into.
pub fn accepts_event_stream(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    media_ranges(accept).any(|(essence, q)| essence == "text/event-stream" && q > 0.0)
}

/// How the client wants to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One JSON body of this media type.
    Json(MediaType),
    /// GraphQL over SSE. `json` is the JSON type the client also accepts: errors of the request are answered in it,
    /// with a 4xx status. A client that accepts only event streams (such as `EventSource`) gets the GraphQL errors of
    /// its document as a `next` event instead, as the protocol requires.
    EventStream { json: Option<MediaType> },
}

impl Mode {
    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        if accepts_event_stream(headers) {
            Some(Self::EventStream { json: negotiate(headers) })
        } else {
            negotiate(headers).map(Self::Json)
        }
    }

    /// The media type of JSON answers (errors of the request).
    fn json_media(self) -> MediaType {
        match self {
            Self::Json(media) => media,
            Self::EventStream { json } => json.unwrap_or(MediaType::Json),
        }
    }

    /// The status of a syntax or validation error: `application/json` keeps 200, as the spec requires.
    fn document_error_status(self) -> StatusCode {
        match self {
            Self::Json(MediaType::Json) => StatusCode::OK,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A GraphQL response body. `data` is omitted entirely (not `null`) for request errors.
#[derive(Serialize)]
struct Body_<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "Option::is_none")]
    extensions: Option<&'a std::collections::BTreeMap<String, Value>>,
}

/// An execution result as single-line JSON.
fn result_json(data: Option<&Value>, errors: &[ServerError]) -> String {
    result_with_extensions(data, errors, None)
}

/// An execution result with its response extensions (e.g. the operation's `cost`).
fn result_with_extensions(
    data: Option<&Value>,
    errors: &[ServerError],
    extensions: Option<&std::collections::BTreeMap<String, Value>>,
) -> String {
    let extensions = extensions.filter(|map| !map.is_empty());
    let body = Body_ { data, errors, extensions };
    serde_json::to_string(&body).unwrap_or_else(|_| r#"{"errors":[{"message":"serialization failed"}]}"#.to_owned())
}

fn respond(status: StatusCode, media: MediaType, data: Option<&Value>, errors: &[ServerError]) -> Response {
    respond_body(status, media, result_json(data, errors))
}

fn respond_body(status: StatusCode, media: MediaType, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media.content_type()));
    response
}

/// A request error: no `data`, one coded error.
fn request_error(status: StatusCode, media: MediaType, code: &str, message: impl Into<String>) -> Response {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    respond(status, media, None, &[error])
}

fn app_error(err: AppError, media: MediaType) -> Response {
    let status = err.status();
    let code = err.code();
    request_error(status, media, code, err.public_message())
}

/// The answer to GraphQL errors of the document (syntax, validation, limits): no `data`.
fn document_errors(mode: Mode, errors: &[ServerError]) -> Response {
    match mode {
        Mode::EventStream { json: None } => sse::respond(stream::once(std::future::ready(result_json(None, errors)))),
        _ => respond(mode.document_error_status(), mode.json_media(), None, errors),
    }
}

/// The validated request parameters.
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Variables,
    /// A multipart request (the GraphQL multipart request spec) arrives parsed, its files in temporary files.
    prepared: Option<Box<async_graphql::Request>>,
}

/// Validates the JSON request parameters (shared by GET, whose values are JSON-encoded, and POST).
fn params_from(map: &serde_json::Map<String, Json>) -> Result<Params, String> {
    let query = match map.get("query") {
        Some(Json::String(q)) => q.clone(),
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("missing `query` parameter".into()),
    };
    let operation_name = match map.get("operationName") {
        None | Some(Json::Null) => None,
        Some(Json::String(name)) => Some(name.clone()),
        Some(_) => return Err("`operationName` must be a string or null".into()),
    };
    let variables = match map.get("variables") {
        None | Some(Json::Null) => Variables::default(),
        Some(v @ Json::Object(_)) => Variables::from_json(super::variables::normalize_numbers(v.clone())),
        Some(_) => return Err("`variables` must be an object or null".into()),
    };
    match map.get("extensions") {
        None | Some(Json::Null) | Some(Json::Object(_)) => {}
        Some(_) => return Err("`extensions` must be an object or null".into()),
    }
    Ok(Params { query, operation_name, variables, prepared: None })
}

fn params_from_query_string(raw: Option<&str>) -> Result<Params, String> {
    let mut map = serde_json::Map::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = match key.as_ref() {
            "variables" | "extensions" => {
                serde_json::from_str(&value).map_err(|_| format!("`{key}` must be URL-encoded JSON"))?
            }
            _ => Json::String(value.into_owned()),
        };
        map.insert(key.into_owned(), value);
    }
    params_from(&map)
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let essence_ok = parts.next().is_some_and(|e| e.eq_ignore_ascii_case("application/json"));
    let charset_ok = parts
        .filter_map(|p| p.to_ascii_lowercase().strip_prefix("charset=").map(|c| c.trim_matches('"').to_owned()))
        .all(|c| c == "utf-8");
    essence_ok && charset_ok
}

/// One operation's parameters, or a batch (a POSTed JSON array of them).
enum Parsed {
    One(Params),
    Batch(Vec<Params>),
}

/// The request parameters of a GET (query string) or POST (JSON body), or the error response.
async fn read_params(
    state: &HttpState,
    method: &Method,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    body: Body,
    media: MediaType,
) -> Result<Parsed, Response> {
    let params = match *method {
        Method::GET => params_from_query_string(raw_query).map(Parsed::One),
        Method::POST if is_multipart(headers) => return read_multipart(state, headers, body, media).await,
        Method::POST => {
            if !is_json_content_type(headers) {
                return Err(request_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    media,
                    "unsupported_media_type",
                    "POST bodies must be application/json (UTF-8)",
                ));
            }
            let limit = state.app.config.body_limit_bytes;
            let bytes = crate::body::read(body, limit, state.app.config.body_deadline())
                .await
                .map_err(|err| app_error(err, media))?;
            match serde_json::from_slice::<Json>(&bytes) {
                Ok(Json::Object(map)) => params_from(&map).map(Parsed::One),
                Ok(Json::Array(items)) if !items.is_empty() => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Json::Object(map) => params_from(map).map_err(|e| format!("operation {i}: {e}")),
                        _ => Err(format!("operation {i}: must be a JSON object")),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Parsed::Batch),
                Ok(_) => Err("the body must be a JSON object (or a non-empty array of them, a batch)".into()),
                Err(e) => {
                    let message = format!("malformed JSON: {e}");
                    return Err(request_error(StatusCode::BAD_REQUEST, media, "invalid_json", message));
                }
            }
        }
        _ => {
            let mut response =
                request_error(StatusCode::METHOD_NOT_ALLOWED, media, "method_not_allowed", "use GET or POST");
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return Err(response);
        }
    };
    params.map_err(|message| request_error(StatusCode::BAD_REQUEST, media, "invalid_request", message))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// A POST per the GraphQL multipart request spec (`operations`, `map`, then the files): one operation whose
/// `Upload` variables are files, each streamed to a temporary file (never held in memory) and at most
/// `OPENCLAW_FILE_MAX_BYTES`; `operations` and `map` are held to the JSON body limit. Credentials are headers, so
/// a cross-site form cannot forge one.
async fn read_multipart(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
    media: MediaType,
) -> Result<Parsed, Response> {
    use super::multipart::{MultipartError, MultipartLimits, read};
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let limits = MultipartLimits {
        json_bytes: state.app.config.body_limit_bytes,
        file_bytes: state.app.config.file_max_bytes,
        max_files: 16,
    };
    let request = read(content_type, body, limits).await.map_err(|err| match err {
        MultipartError::TooLarge { .. } => {
            request_error(StatusCode::PAYLOAD_TOO_LARGE, media, "payload_too_large", err.to_string())
        }
        MultipartError::Invalid(_) => {
            request_error(StatusCode::BAD_REQUEST, media, "invalid_multipart", err.to_string())
        }
        MultipartError::Io(io) => app_error(AppError::Internal(io.into()), media),
    })?;
    let mut params = params_from(&request.operations)
        .map_err(|message| request_error(StatusCode::BAD_REQUEST, media, "invalid_request", message))?;
    let mut prepared = async_graphql::Request::new(params.query.clone()).variables(params.variables.clone());
    for (paths, upload) in request.files {
        for path in paths {
            let copy = upload.try_clone().map_err(|io| app_error(AppError::Internal(io.into()), media))?;
            prepared.set_upload(&path, copy);
        }
    }
    params.prepared = Some(Box::new(prepared));
    Ok(Parsed::One(params))
}

/// `GET|POST /v2/graphql`.
#[expect(clippy::too_many_arguments, reason = "one axum extractor each")]
pub async fn graphql_http(
    State(state): State<HttpState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    work: Option<Extension<UnitOfWork>>,
    rate: Option<Extension<RateSlot>>,
    known: Option<Extension<crate::auth::Authenticated>>,
    body: Body,
) -> Response {
    let work = work.map(|Extension(work)| work);
    let rate = rate.map(|Extension(rate)| rate);
    let Some(mode) = Mode::from_headers(&headers) else {
        return request_error(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            "not_acceptable",
            "accept application/graphql-response+json, application/json or text/event-stream",
        );
    };
    let media = mode.json_media();
    // Credentials first: nothing of an unauthenticated request's body is read.
    let principal = match state.app.auth.from_request(&headers, known).await {
        Ok(principal) => principal,
        Err(err) => return app_error(err, media),
    };
    let parsed = match read_params(&state, &method, &headers, raw_query.as_deref(), body, media).await {
        Ok(parsed) => parsed,
        Err(response) => return response,
    };
    let params = match parsed {
        Parsed::One(params) => params,
        Parsed::Batch(batch) => return execute_batch(&state, batch, principal, (work, rate), mode).await,
    };
    let document = match state.documents.parse(&params.query) {
        Ok(document) => document,
        Err(err) => return document_errors(mode, &err.into_response().errors),
    };
    let kind = operation_kind(&document, params.operation_name.as_deref());
    let streaming = matches!(mode, Mode::EventStream { .. });
    if method == Method::GET && !allowed_over_get(kind, streaming) {
        let message = if streaming { "mutations require POST" } else { "mutations and subscriptions require POST" };
        let mut response = request_error(StatusCode::METHOD_NOT_ALLOWED, media, "method_not_allowed", message);
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let mut request = match params.prepared {
        Some(prepared) => *prepared,
        None => async_graphql::Request::new(params.query).variables(params.variables),
    };
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name.clone());
    }
    request.set_parsed_query(document.clone());
    request.data = request_data(&state.app, principal, work);
    if let Some(rate) = rate {
        request.data.insert(rate);
    }
    let operation = Operation { document, name: params.operation_name };
    match mode {
        Mode::Json(media) => execute_json(&state, request, media, &operation).await,
        Mode::EventStream { .. } => {
            execute_event_stream(&state, request, mode, operation, kind == Some(OperationType::Subscription)).await
        }
    }
}

/// A batch: each operation executed in order like a request of its own; the answer is the array of results.
/// At most the plan's batch size (SPEC §7), JSON responses only.
async fn execute_batch(
    state: &HttpState,
    batch: Vec<Params>,
    principal: crate::auth::Principal,
    (work, rate): (Option<UnitOfWork>, Option<RateSlot>),
    mode: Mode,
) -> Response {
    let media = mode.json_media();
    if matches!(mode, Mode::EventStream { .. }) {
        let message = "batched operations are answered as JSON; accept application/json";
        return request_error(StatusCode::NOT_ACCEPTABLE, media, "not_acceptable", message);
    }
    let max = crate::rest::batch::max_operations(&state.app, principal.plan);
    if batch.len() > max {
        let message = format!("{} operations exceed the {} plan's batch size of {max}", batch.len(), principal.plan);
        return request_error(StatusCode::BAD_REQUEST, media, "batch_too_large", message);
    }
    let mut results = Vec::with_capacity(batch.len());
    for params in batch {
        let document = match state.documents.parse(&params.query) {
            Ok(document) => document,
            Err(err) => {
                results.push(result_json(None, &err.into_response().errors));
                continue;
            }
        };
        let mut request = async_graphql::Request::new(params.query).variables(params.variables);
        if let Some(name) = &params.operation_name {
            request = request.operation_name(name.clone());
        }
        request.set_parsed_query(document.clone());
        request.data = request_data(&state.app, principal.clone(), work.clone());
        if let Some(rate) = &rate {
            request.data.insert(rate.clone());
        }
        let mut response = state.schema.execute(request).await;
        errors::annotate(&mut response);
        if errors::is_request_error(&response) {
            results.push(result_json(None, &response.errors));
            continue;
        }
        ordering::order_response(&mut response.data, &document, params.operation_name.as_deref());
        results.push(result_with_extensions(Some(&response.data), &response.errors, Some(&response.extensions)));
    }
    let mut response = (StatusCode::OK, format!("[{}]", results.join(","))).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media.content_type()));
    response
}

/// The parsed document and the name of the operation to run.
struct Operation {
    document: ExecutableDocument,
    name: Option<String>,
}

/// The type of the operation `name` selects (`None` when there is no such operation; validation reports it).
fn operation_kind(document: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    match name {
        Some(name) => {
            document.operations.iter().find(|(n, _)| n.is_some_and(|n| n.as_str() == name)).map(|(_, op)| op.node.ty)
        }
        None => document.operations.iter().next().map(|(_, op)| op.node.ty),
    }
}

/// GET is for operations without side effects: queries, and subscriptions when results can stream back.
fn allowed_over_get(kind: Option<OperationType>, streaming: bool) -> bool {
    match kind {
        Some(OperationType::Mutation) => false,
        Some(OperationType::Subscription) => streaming,
        Some(OperationType::Query) | None => true,
    }
}

async fn execute_json(
    state: &HttpState,
    request: async_graphql::Request,
    media: MediaType,
    operation: &Operation,
) -> Response {
    let mut response = state.schema.execute(request).await;
    errors::annotate(&mut response);
    if errors::is_request_error(&response) {
        return document_errors(Mode::Json(media), &response.errors);
    }
    ordering::order_response(&mut response.data, &operation.document, operation.name.as_deref());
    respond_body(
        StatusCode::OK,
        media,
        result_with_extensions(Some(&response.data), &response.errors, Some(&response.extensions)),
    )
}

/// Runs the operation as a stream. Validation errors come before the first event, so they are answered like any
/// request error (see [`Mode::EventStream`]); everything after goes out as `next` events.
async fn execute_event_stream(
    state: &HttpState,
    request: async_graphql::Request,
    mode: Mode,
    operation: Operation,
    subscription: bool,
) -> Response {
    let mut results = state.schema.execute_stream(request);
    let (first, rest) = match sse::first_result(&mut results, subscription).await {
        Poll::Ready(Some(mut first)) => {
            errors::annotate(&mut first);
            if errors::is_request_error(&first) {
                return document_errors(mode, &first.errors);
            }
            (Some(first), Some(results))
        }
        // Never polled again once it has ended.
        Poll::Ready(None) => (None, None),
        Poll::Pending => (None, Some(results)),
    };
    let results = stream::iter(first).chain(stream::iter(rest).flatten()).map(move |mut response| {
        errors::annotate(&mut response);
        if errors::is_request_error(&response) {
            return result_json(None, &response.errors);
        }
        ordering::order_response(&mut response.data, &operation.document, operation.name.as_deref());
        result_with_extensions(Some(&response.data), &response.errors, Some(&response.extensions))
    });
    sse::respond(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("header"));
        negotiate(&headers)
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(accept("application/graphql-response+json"), Some(MediaType::GraphqlResponseJson));
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(
            accept("application/json;q=0.9, application/graphql-response+json"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(accept("text/html"), None);
    }

    fn mode(value: &str) -> Option<Mode> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("header"));
        Mode::from_headers(&headers)
    }

    #[test]
    fn event_stream_is_chosen_only_when_listed() {
        assert_eq!(Mode::from_headers(&HeaderMap::new()), Some(Mode::Json(MediaType::Json)));
        assert_eq!(mode("text/event-stream"), Some(Mode::EventStream { json: None }));
        assert_eq!(
            mode("Text/Event-Stream;q=0.5, application/graphql-response+json"),
            Some(Mode::EventStream { json: Some(MediaType::GraphqlResponseJson) })
        );
        assert_eq!(mode("text/event-stream, */*"), Some(Mode::EventStream { json: Some(MediaType::Json) }));
        assert_eq!(mode("text/event-stream;q=0, application/json"), Some(Mode::Json(MediaType::Json)));
        assert_eq!(mode("*/*"), Some(Mode::Json(MediaType::Json)));
        assert_eq!(mode("text/*"), None);
    }
}
